import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { recordAttributes, traceWebhook } from '../observability/job-delivery.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import { deliverWebhook, type WebhookDeliveryDeps } from './webhook-delivery.ts';
import { createWebhookEndpoints, retryDelaySec, type WebhookEndpoints } from './webhook-endpoints.ts';
import { decodeWebhookMessage, WEBHOOK_QUEUE } from './webhook-message.ts';

export interface WebhookHandlerDeps extends WebhookDeliveryDeps {
  /**
   * Per-endpoint limits and circuits. On Lambda they live as long as the instance (each instance breaks
   * its own circuits). Default: at most 4 in flight per endpoint, the rest of a batch (up to 6) waiting.
   */
  endpoints?: WebhookEndpoints;
  /** Sets how long a message that was not delivered stays away (backoff, an open circuit's period). */
  queue?: Pick<MessageQueue, 'changeVisibility'>;
  onError?(error: unknown): void;
}

/**
 * The webhook function on AWS: an SQS event source on `system_webhooks`. The records of a batch are
 * delivered concurrently under their endpoints' limits. A failed or refused delivery (a
 * `WebhookDeliveryError`, passed to `onError`) and a delivery deferred by an open circuit are reported as
 * batch item failures, their visibility set to the backoff, so SQS retries them then and dead-letters
 * them at last.
 */
export function createWebhookHandler(deps: WebhookHandlerDeps) {
  const endpoints = deps.endpoints ?? createWebhookEndpoints({ limits: { maxWaiting: 6 } });
  async function settle(record: SQSRecord): Promise<boolean> {
    const tenantId = decodeWebhookMessage(record.body)?.tenantId;
    // Not a webhook message: nothing will ever deliver it.
    if (!tenantId) return true;
    const outcome = await endpoints.run(tenantId, () =>
      traceWebhook(recordAttributes(record), () => deliverWebhook(deps, record.body)),
    );
    if (outcome.kind === 'delivered') return true;
    if (outcome.kind === 'failed') deps.onError?.(outcome.error);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
    await deps.queue
      ?.changeVisibility(WEBHOOK_QUEUE, record.receiptHandle, retryDelaySec(outcome, receiveCount))
      .catch((error: unknown) => deps.onError?.(error));
    return false;
  }
  return async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    const results = await Promise.all(
      event.Records.map(async (record) => ({ id: record.messageId, ok: await settle(record) })),
    );
    return { batchItemFailures: results.filter((r) => !r.ok).map((r) => ({ itemIdentifier: r.id })) };
  };
}
