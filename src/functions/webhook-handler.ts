import { recordAttributes } from '../observability/job-delivery.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import { createDeliveryBatchHandler } from './delivery-outcome.ts';
import { type WebhookDeliveryDeps, webhookOutcome } from './webhook-delivery.ts';
import { createWebhookEndpoints, type WebhookEndpoints } from './webhook-endpoints.ts';
import { WEBHOOK_QUEUE } from './webhook-message.ts';

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
  return createDeliveryBatchHandler({
    queueName: WEBHOOK_QUEUE,
    queue: deps.queue,
    endpoints: deps.endpoints ?? createWebhookEndpoints({ limits: { maxWaiting: 6 } }),
    outcomeOf: (record, underCircuit) =>
      webhookOutcome(deps, record.body, recordAttributes(record), underCircuit),
    onError: deps.onError,
  });
}
