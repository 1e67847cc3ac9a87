import type { WebhookTargetPolicy } from '../core/webhook-target.ts';
import { webhookOutcome } from '../functions/webhook-delivery.ts';
import { createWebhookEndpoints, type WebhookEndpoints } from '../functions/webhook-endpoints.ts';
import { WEBHOOK_QUEUE } from '../functions/webhook-message.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { startQueueDispatcher } from './queue-dispatcher.ts';

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
  /** Seconds a received message stays invisible, and the longest its handling holds a place (default 30). */
  visibilitySec?: number;
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
  return startQueueDispatcher({
    queue: options.queue,
    queueName: WEBHOOK_QUEUE,
    endpoints: options.endpoints ?? createWebhookEndpoints(),
    concurrency: options.concurrency ?? 64,
    ...(options.visibilitySec !== undefined ? { visibilitySec: options.visibilitySec } : {}),
    // Deliveries in flight end within their timeout; those still waiting for their endpoint come back.
    drainMs: (options.timeoutMs ?? 10_000) + 1_000,
    onError: options.onError,
    handle: (m, underCircuit) => webhookOutcome(options, m.body, m.attributes, underCircuit),
  });
}
