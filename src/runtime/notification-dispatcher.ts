import { type NotificationDeliveryDeps, notificationOutcome } from '../functions/notification-delivery.ts';
import { NOTIFICATION_QUEUE } from '../functions/notification-message.ts';
import { createWebhookEndpoints, type WebhookEndpoints } from '../functions/webhook-endpoints.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import { startQueueDispatcher } from './queue-dispatcher.ts';

export interface NotificationDispatcherOptions extends NotificationDeliveryDeps {
  queue: MessageQueue;
  /** Per (tenant, channel) limits and circuits: the webhook endpoints' policy, keyed `tenant/channel`. */
  endpoints?: WebhookEndpoints;
  /** Messages held at once across every tenant and channel. */
  concurrency?: number;
  /** Seconds a received message stays invisible, and the longest its handling holds a place (default 30). */
  visibilitySec?: number;
  onError?(error: unknown): void;
}

/**
 * Delivers user notifications from `system_notifications`. A job's announcement is fanned out to one
 * delivery message per opted-in user and channel (per device for Web Push), deduplicated, so a crash
 * mid-fan-out sends none twice. Each delivery runs under the circuit and in-flight limit of its tenant's
 * channel (the webhook endpoints' policy): a tenant whose mail or push keeps failing has its deliveries put
 * back for the open period, and never holds up another tenant's. Failed deliveries back off, then
 * dead-letter.
 */
export function startNotificationDispatcher(options: NotificationDispatcherOptions): {
  stop(): Promise<void>;
} {
  return startQueueDispatcher({
    queue: options.queue,
    queueName: NOTIFICATION_QUEUE,
    endpoints: options.endpoints ?? createWebhookEndpoints(),
    concurrency: options.concurrency ?? 64,
    ...(options.visibilitySec !== undefined ? { visibilitySec: options.visibilitySec } : {}),
    drainMs: 11_000,
    onError: options.onError,
    handle: (m, underCircuit) => notificationOutcome(options, m.body, underCircuit),
  });
}
