import { isJobId, isTenantId, type JobId, type TenantId } from '../core/ids.ts';

/** The system queue that carries webhook deliveries, so they survive crashes and retry with backoff. */
export const WEBHOOK_QUEUE = 'system_webhooks';

export interface WebhookMessage {
  tenantId: TenantId;
  jobId: JobId;
  status: string;
  version: number;
}

export function decodeWebhookMessage(body: string): WebhookMessage | undefined {
  try {
    const m = JSON.parse(body) as Record<string, unknown>;
    if (!isTenantId(m.tenantId) || !isJobId(m.jobId) || typeof m.status !== 'string') return undefined;
    return { tenantId: m.tenantId, jobId: m.jobId, status: m.status, version: Number(m.version) };
  } catch {
    return undefined;
  }
}
