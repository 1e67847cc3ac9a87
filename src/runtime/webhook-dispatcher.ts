import type { WebhookTargetPolicy } from '../core/webhook-target.ts';
import { deliverWebhook } from '../functions/webhook-delivery.ts';
import {
  createWebhookEndpoints,
  retryDelaySec,
  type WebhookEndpoints,
} from '../functions/webhook-endpoints.ts';
import { decodeWebhookMessage, WEBHOOK_QUEUE } from '../functions/webhook-message.ts';
import { traceWebhook } from '../observability/job-delivery.ts';
import type { MessageQueue, ReceivedMessage } from '../ports/message-queue.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';

/** Seconds a received message stays invisible: longer than one delivery's timeout, renewed after a wait. */
const VISIBILITY_SEC = 30;
/** After a receive error (the queue is closing or locked), wait this long before the next receive. */
const RECEIVE_ERROR_PAUSE_MS = 500;

export interface WebhookDispatcherOptions {
  queue: MessageQueue;
  directory: TenantDirectory;
  stores: StoreProvider;
  /** Where webhooks may point, checked against the address each delivery connects to. */
  policy: WebhookTargetPolicy;
  timeoutMs?: number;
  /** Per-endpoint limits and circuits; shared with the API, which shows each tenant its endpoint's state. */
  endpoints?: WebhookEndpoints;
  /** Messages held at once (in flight or waiting for their endpoint), across every endpoint. */
  concurrency?: number;
  /** Failed and refused deliveries (`WebhookDeliveryError`, its message says which) and queue errors. */
  onError?(error: unknown): void;
}

/**
 * Delivers job webhooks from their durable queue, signed per Standard Webhooks. Each message is handled
 * on its own as soon as it is received: deliveries to different endpoints never wait for each other, one
 * endpoint gets at most a few in flight, and an endpoint whose circuit is open has its messages put back
 * for the open period, unattempted. A failed delivery is retried with exponential backoff and jitter
 * (message visibility), then dead-lettered; a job never waits for it.
 */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): { stop(): Promise<void> } {
  const { queue } = options;
  const endpoints = options.endpoints ?? createWebhookEndpoints();
  const maxHeld = options.concurrency ?? 64;
  const held = new Set<Promise<void>>();
  let stopped = false;
  let wake: (() => void) | undefined;
  const wakeLoop = () => {
    wake?.();
    wake = undefined;
  };
  const report = (error: unknown) => options.onError?.(error);

  async function handle(m: ReceivedMessage): Promise<void> {
    const tenantId = decodeWebhookMessage(m.body)?.tenantId;
    if (!tenantId) {
      await queue.delete(WEBHOOK_QUEUE, m.receiptHandle);
      return;
    }
    const outcome = await endpoints.run(
      tenantId,
      () => traceWebhook(m.attributes, () => deliverWebhook(options, m.body)),
      async (waitedMs) => {
        if (waitedMs >= 1_000) await queue.changeVisibility(WEBHOOK_QUEUE, m.receiptHandle, VISIBILITY_SEC);
      },
    );
    if (outcome.kind === 'delivered') {
      await queue.delete(WEBHOOK_QUEUE, m.receiptHandle);
      return;
    }
    if (outcome.kind === 'failed') report(outcome.error);
    await queue.changeVisibility(WEBHOOK_QUEUE, m.receiptHandle, retryDelaySec(outcome, m.receiveCount));
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const room = maxHeld - held.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = await queue
        .receive(WEBHOOK_QUEUE, {
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
            wakeLoop();
          });
        held.add(running);
      }
    }
    // Deliveries in flight end within their timeout; messages still waiting for their endpoint are left
    // invisible and come back after VISIBILITY_SEC (at least once, same webhook-id).
    const drained = new Promise((resolve) =>
      setTimeout(resolve, (options.timeoutMs ?? 10_000) + 1_000).unref(),
    );
    await Promise.race([Promise.all(held), drained]);
  }

  const main = loop();
  return {
    async stop() {
      stopped = true;
      wakeLoop();
      await main;
    },
  };
}
