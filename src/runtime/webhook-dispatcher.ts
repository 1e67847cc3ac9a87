import type { WebhookTargetPolicy } from '../core/webhook-target.ts';
import { deliverWebhook } from '../functions/webhook-delivery.ts';
import { WEBHOOK_QUEUE } from '../functions/webhook-message.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';

export interface WebhookDispatcherOptions {
  queue: MessageQueue;
  directory: TenantDirectory;
  stores: StoreProvider;
  /** Where webhooks may point, checked against the address each delivery connects to. */
  policy: WebhookTargetPolicy;
  timeoutMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Failed and refused deliveries (`WebhookDeliveryError`, its message says which) and queue errors. */
  onError?(error: unknown): void;
}

/**
 * Delivers job webhooks from their durable queue, signed per Standard Webhooks. A failed delivery is
 * retried with exponential backoff (message visibility), then dead-lettered; a job never waits for it.
 */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): { stop(): Promise<void> } {
  const { queue } = options;
  let stopped = false;

  const deliver = (body: string) => deliverWebhook(options, body);

  async function loop(): Promise<void> {
    while (!stopped) {
      const batch = await queue
        .receive(WEBHOOK_QUEUE, {
          maxMessages: options.concurrency ?? 10,
          visibilityTimeoutSec: 30,
          waitTimeSec: 1,
        })
        .catch((error: unknown) => {
          options.onError?.(error);
          return [];
        });
      await Promise.all(
        batch.map(async (m) => {
          const ok = await deliver(m.body).then(
            () => true,
            (error: unknown) => {
              options.onError?.(error);
              return false;
            },
          );
          if (ok) await queue.delete(WEBHOOK_QUEUE, m.receiptHandle);
          else
            await queue.changeVisibility(WEBHOOK_QUEUE, m.receiptHandle, Math.min(3600, 2 ** m.receiveCount));
        }),
      );
    }
  }

  const main = loop();
  return {
    async stop() {
      stopped = true;
      await main;
    },
  };
}
