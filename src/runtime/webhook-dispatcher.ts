import { Webhook } from 'standardwebhooks';
import { jobView } from '../core/job-view.ts';
import { decodeWebhookMessage, WEBHOOK_QUEUE } from '../functions/webhook-message.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';

export interface WebhookDispatcherOptions {
  queue: MessageQueue;
  directory: TenantDirectory;
  stores: StoreProvider;
  timeoutMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  onError?(error: unknown): void;
}

/**
 * Delivers job webhooks from their durable queue, signed per Standard Webhooks. A failed delivery is
 * retried with exponential backoff (message visibility), then dead-lettered; a job never waits for it.
 */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): { stop(): Promise<void> } {
  const { queue } = options;
  let stopped = false;

  async function deliver(body: string): Promise<boolean> {
    const message = decodeWebhookMessage(body);
    if (!message) return true;
    const tenant = await options.directory.get(message.tenantId);
    const webhook = tenant?.config.webhook;
    if (!tenant || !webhook) return true;
    const job = await tenantDataFor(options.stores, tenant).jobs.get(message.jobId);
    if (!job) return true;
    const id = `msg_${job.id}_${message.status}`;
    const timestamp = new Date();
    const payload = JSON.stringify({
      type: `job.${message.status}`,
      timestamp: timestamp.toISOString(),
      data: jobView(job),
    });
    const signature = new Webhook(webhook.secret).sign(id, timestamp, payload);
    const response = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body: payload,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    return response.ok;
  }

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
          const ok = await deliver(m.body).catch((error: unknown) => {
            options.onError?.(error);
            return false;
          });
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
