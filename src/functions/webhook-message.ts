import { isJobId, isTenantId, type JobId, type TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import type { SendMessage } from '../ports/message-queue.ts';

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

/** The notification of a job's status; its dedup id makes a second announcement of one status a no-op. */
export function webhookMessageFor(
  job: Pick<JobRecord, 'id' | 'tenantId' | 'version'> & { status: string },
): SendMessage {
  return {
    body: JSON.stringify({ tenantId: job.tenantId, jobId: job.id, status: job.status, version: job.version }),
    groupId: job.tenantId,
    dedupId: `${job.id}:${job.status}`,
  };
}
