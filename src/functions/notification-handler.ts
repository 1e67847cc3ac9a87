import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { MessageQueue } from '../ports/message-queue.ts';
import {
  deliverNotification,
  fanOutNotification,
  type NotificationDeliveryDeps,
} from './notification-delivery.ts';
import { decodeNotificationMessage, NOTIFICATION_QUEUE } from './notification-message.ts';
import {
  createWebhookEndpoints,
  type DeliveryOutcome,
  retryDelaySec,
  type WebhookEndpoints,
} from './webhook-endpoints.ts';

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
  const endpoints = deps.endpoints ?? createWebhookEndpoints();

  async function outcomeOf(record: SQSRecord): Promise<DeliveryOutcome> {
    const message = decodeNotificationMessage(record.body);
    // Not a notification message: nothing will ever deliver it.
    if (!message) return { kind: 'delivered' };
    if (message.kind === 'job') {
      return fanOutNotification(deps, message).then(
        () => ({ kind: 'delivered' }) as const,
        (error: unknown) => ({ kind: 'failed', error }) as const,
      );
    }
    return endpoints.run(`${message.tenantId}/${message.channel}`, () => deliverNotification(deps, message));
  }

  async function settle(record: SQSRecord): Promise<boolean> {
    const outcome = await outcomeOf(record);
    if (outcome.kind === 'delivered') return true;
    if (outcome.kind === 'failed') deps.onError?.(outcome.error);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
    await deps.queue
      .changeVisibility(NOTIFICATION_QUEUE, record.receiptHandle, retryDelaySec(outcome, receiveCount))
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
