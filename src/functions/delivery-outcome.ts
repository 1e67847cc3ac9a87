import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { MessageQueue } from '../ports/message-queue.ts';
import { type DeliveryOutcome, retryDelaySec, type WebhookEndpoints } from './webhook-endpoints.ts';

/**
 * Runs `deliver` under the circuit and in-flight limit of `key` (an endpoint, or a tenant's channel), with a
 * signal aborted at the attempt's deadline (its outgoing call takes it). Never rejects: a failure is an outcome.
 */
export type UnderCircuit = (
  key: string,
  deliver: (signal: AbortSignal) => Promise<void>,
) => Promise<DeliveryOutcome>;

/**
 * An SQS event source's handler over the outcome of one message (`webhookOutcome`, `notificationOutcome`;
 * the embedded dispatchers, src/runtime/*-dispatcher.ts, use the same ones): the records of a batch are handled
 * concurrently; one not delivered (failed, or deferred by an open circuit or a busy key) is a batch item
 * failure with its visibility set to its backoff (`retryDelaySec`), so SQS retries it then and
 * dead-letters it at last. Failures go to `onError`.
 */
export function createDeliveryBatchHandler(options: {
  queueName: string;
  queue?: Pick<MessageQueue, 'changeVisibility'> | undefined;
  endpoints: WebhookEndpoints;
  outcomeOf(record: SQSRecord, underCircuit: UnderCircuit): Promise<DeliveryOutcome>;
  onError?: ((error: unknown) => void) | undefined;
}): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const underCircuit: UnderCircuit = (key, deliver) => options.endpoints.run(key, deliver);
  async function settle(record: SQSRecord): Promise<boolean> {
    const outcome = await options.outcomeOf(record, underCircuit);
    if (outcome.kind === 'delivered') return true;
    if (outcome.kind === 'failed') options.onError?.(outcome.error);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
    await options.queue
      ?.changeVisibility(options.queueName, record.receiptHandle, retryDelaySec(outcome, receiveCount))
      .catch((error: unknown) => options.onError?.(error));
    return false;
  }
  return async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    const results = await Promise.all(
      event.Records.map(async (record) => ({ id: record.messageId, ok: await settle(record) })),
    );
    return { batchItemFailures: results.filter((r) => !r.ok).map((r) => ({ itemIdentifier: r.id })) };
  };
}
