import { Webhook } from 'standardwebhooks';
import { jobView } from '../core/job-view.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { decodeWebhookMessage } from './webhook-message.ts';

export interface WebhookDeliveryDeps {
  directory: TenantDirectory;
  stores: StoreProvider;
  timeoutMs?: number;
}

/**
 * Delivers one webhook message: the job's current view, signed per Standard Webhooks with the tenant's
 * secret. True when done (delivered, or nothing to deliver any more); false to retry later.
 */
export async function deliverWebhook(deps: WebhookDeliveryDeps, body: string): Promise<boolean> {
  const message = decodeWebhookMessage(body);
  if (!message) return true;
  const tenant = await deps.directory.get(message.tenantId);
  const webhook = tenant?.config.webhook;
  if (!tenant || !webhook) return true;
  const job = await tenantDataFor(deps.stores, tenant).jobs.get(message.jobId);
  if (!job) return true;
  // The id is stable per job and status, so a receiver can drop a retried delivery it already has.
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
    signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
  });
  return response.ok;
}
