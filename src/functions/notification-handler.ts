import type { MessageQueue } from '../ports/message-queue.ts';
import { createDeliveryBatchHandler } from './delivery-outcome.ts';
import { type NotificationDeliveryDeps, notificationOutcome } from './notification-delivery.ts';
import { NOTIFICATION_QUEUE } from './notification-message.ts';
import { createWebhookEndpoints, type WebhookEndpoints } from './webhook-endpoints.ts';

export interface NotificationHandlerDeps extends NotificationDeliveryDeps {
  /** Sends the fan-out's deliveries and sets a failed or deferred message's visibility (its backoff). */
  queue: Pick<MessageQueue, 'send' | 'changeVisibility'>;
  /**
   * Per (tenant, channel) limits and circuits, keyed `tenant/channel` as the embedded dispatcher keys them.
   * On Lambda they live as long as the instance. Default: the embedded dispatcher's (4 in flight per key).
   */
  endpoints?: WebhookEndpoints;
  onError?(error: unknown): void;
}

/**
 * The notification function on AWS: an SQS event source on `system_notifications`, the embedded
 * dispatcher's work per record (src/runtime/notification-dispatcher.ts). An announcement is fanned out to
 * one delivery message per opted-in user and channel; a delivery is sent under its tenant's channel's limit
 * and circuit. A failed fan-out or delivery, and one deferred by an open circuit or a busy channel, is a
 * batch item failure with its visibility set to the backoff, so SQS retries it then and dead-letters it at
 * last; the batch's other records are done.
 */
export function createNotificationHandler(deps: NotificationHandlerDeps) {
  return createDeliveryBatchHandler({
    queueName: NOTIFICATION_QUEUE,
    queue: deps.queue,
    endpoints: deps.endpoints ?? createWebhookEndpoints(),
    outcomeOf: (record, underCircuit) => notificationOutcome(deps, record.body, underCircuit),
    onError: deps.onError,
  });
}
