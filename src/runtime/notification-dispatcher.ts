import {
  deliverNotification,
  fanOutNotification,
  type NotificationDeliveryDeps,
} from '../functions/notification-delivery.ts';
import { decodeNotificationMessage, NOTIFICATION_QUEUE } from '../functions/notification-message.ts';
import {
  createWebhookEndpoints,
  type DeliveryOutcome,
  retryDelaySec,
  type WebhookEndpoints,
} from '../functions/webhook-endpoints.ts';
import type { MessageQueue, ReceivedMessage } from '../ports/message-queue.ts';

const VISIBILITY_SEC = 30;
const RECEIVE_ERROR_PAUSE_MS = 500;

export interface NotificationDispatcherOptions extends NotificationDeliveryDeps {
  queue: MessageQueue;
  /** Per (tenant, channel) limits and circuits: the webhook endpoints' policy, keyed `tenant/channel`. */
  endpoints?: WebhookEndpoints;
  /** Messages held at once across every tenant and channel. */
  concurrency?: number;
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
  const { queue } = options;
  const endpoints = options.endpoints ?? createWebhookEndpoints();
  const maxHeld = options.concurrency ?? 64;
  const held = new Set<Promise<void>>();
  let stopped = false;
  let wake: (() => void) | undefined;
  const report = (error: unknown) => options.onError?.(error);

  async function handle(m: ReceivedMessage): Promise<void> {
    const message = decodeNotificationMessage(m.body);
    let outcome: DeliveryOutcome;
    if (!message) outcome = { kind: 'delivered' };
    else if (message.kind === 'job') {
      outcome = await fanOutNotification(options, message).then(
        () => ({ kind: 'delivered' }) as const,
        (error: unknown) => ({ kind: 'failed', error }) as const,
      );
    } else {
      outcome = await endpoints.run(
        `${message.tenantId}/${message.channel}`,
        () => deliverNotification(options, message),
        async (waitedMs) => {
          if (waitedMs >= 1_000)
            await queue.changeVisibility(NOTIFICATION_QUEUE, m.receiptHandle, VISIBILITY_SEC);
        },
      );
    }
    if (outcome.kind === 'delivered') {
      await queue.delete(NOTIFICATION_QUEUE, m.receiptHandle);
      return;
    }
    if (outcome.kind === 'failed') report(outcome.error);
    await queue.changeVisibility(NOTIFICATION_QUEUE, m.receiptHandle, retryDelaySec(outcome, m.receiveCount));
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const room = maxHeld - held.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = await queue
        .receive(NOTIFICATION_QUEUE, {
          maxMessages: Math.min(10, room),
          visibilityTimeoutSec: VISIBILITY_SEC,
          waitTimeSec: 1,
        })
        .catch(async (error: unknown) => {
          report(error);
          await new Promise((resolve) => setTimeout(resolve, RECEIVE_ERROR_PAUSE_MS));
          return [];
        });
      for (const m of batch) {
        const running: Promise<void> = handle(m)
          .catch(report)
          .finally(() => {
            held.delete(running);
            wake?.();
            wake = undefined;
          });
        held.add(running);
      }
    }
    // What is still in flight comes back after VISIBILITY_SEC: at least once, deduplicated by message id.
    const drained = new Promise((resolve) => setTimeout(resolve, 11_000).unref());
    await Promise.race([Promise.all(held), drained]);
  }

  const main = loop();
  return {
    async stop() {
      stopped = true;
      wake?.();
      wake = undefined;
      await main;
    },
  };
}
