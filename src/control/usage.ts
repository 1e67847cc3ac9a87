import { billedComputeMbMs, billedComputeMs } from '../core/attempt-time.ts';
import { storeFor } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { isMeteredFinish } from '../core/usage.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import { type StoreProvider, tenantDataAt } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { TenantMetrics } from './metrics.ts';
import { queuedJobsByTenant, total } from './queued-jobs.ts';

/** List prices the cost estimate uses (AWS us-east-1, arm64 Lambda, S3 Standard). */
export const PRICES = {
  lambdaGbSecondUsd: 0.0000133334,
  lambdaRequestUsd: 0.2 / 1_000_000,
  s3GbMonthUsd: 0.023,
} as const;

export interface TenantUsage {
  tenantId: string;
  /** Waiting to start now. */
  queued: number;
  /** Running now. */
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** Submits refused with 429 since this server started. */
  throttled: number;
  /** Queued→started wait of recent jobs. */
  waitP50Sec: number;
  waitP95Sec: number;
  /** Jobs ever submitted and still stored. */
  jobs: number;
  /** Run time, seconds, functions were measured running the finished jobs (as `compute_mb_ms` bills it, core/attempt-time.ts). */
  computeSeconds: number;
  /** Bytes of stored artifacts. */
  storageBytes: number;
  /**
   * Estimated: compute at the memory each job's attempts ran with (as `compute_mb_ms` bills it), one request
   * per job, a month of storage.
   */
  costUsd: number;
}

export interface UsageDeps {
  directory: TenantDirectory;
  stores: StoreProvider;
  queue: MessageQueue;
  metrics?: TenantMetrics;
}

/** How far back the placement advisor looks: recent usage decides, and a pass reads only those jobs. */
export const ADVISOR_WINDOW_MS = 30 * 86_400_000;

/**
 * Usage and cost per tenant: totals from the job records, live figures from the queue and this process.
 * With `sinceMs`, only jobs created since then count, and a tenant's jobs are read newest first only
 * back to it (the advisor's periodic pass stays proportional to recent volume, not to all history).
 */
export async function usageReport(
  deps: UsageDeps,
  options: { sinceMs?: number } = {},
): Promise<TenantUsage[]> {
  const queued = await queuedJobsByTenant(deps.queue);
  const items: TenantUsage[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      const { computeMbMs, ...totals } = await jobTotals(deps.stores, tenant, options.sinceMs);
      const live = deps.metrics?.live(tenant.id) ?? {
        running: 0,
        throttled: 0,
        waitP50Sec: 0,
        waitP95Sec: 0,
      };
      items.push({
        tenantId: tenant.id,
        queued: total(queued.get(tenant.id)),
        ...live,
        ...totals,
        costUsd: costOf(totals, computeMbMs),
      });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

type JobTotals = Pick<
  TenantUsage,
  'jobs' | 'succeeded' | 'failed' | 'cancelled' | 'computeSeconds' | 'storageBytes'
> & {
  /** MB·ms, as `compute_mb_ms` bills it: each attempt at the memory it ran with. */
  computeMbMs: number;
};

/** One pass over the tenant's job records (newest first), a page at a time, back to `sinceMs` if given. */
async function jobTotals(stores: StoreProvider, tenant: Tenant, sinceMs?: number): Promise<JobTotals> {
  const jobs = tenantDataAt(stores, storeFor(tenant), tenant.id).jobs;
  const totals: JobTotals = {
    jobs: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    computeSeconds: 0,
    storageBytes: 0,
    computeMbMs: 0,
  };
  let cursor: string | undefined;
  let older = false;
  do {
    const page = await jobs.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const job of page.items) {
      if (sinceMs !== undefined && Date.parse(job.createdAt) < sinceMs) {
        older = true;
        break;
      }
      totals.jobs++;
      if (job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled')
        totals[job.status]++;
      // The measured run time, as billed: a settled job's `finishedAt` is when the server settled it.
      if (isMeteredFinish(job)) {
        totals.computeSeconds += billedComputeMs(job) / 1000;
        totals.computeMbMs += billedComputeMbMs(job);
      }
      for (const artifact of job.artifacts) totals.storageBytes += artifact.size;
    }
    cursor = page.nextCursor;
  } while (cursor && !older);
  totals.computeSeconds = Math.round(totals.computeSeconds * 1000) / 1000;
  return totals;
}

/**
 * The estimate in USD: GB-seconds as billed (`computeMbMs` / 1024 / 1000), never the tenant's memory setting
 * now (a shared tenant's jobs ran on the shared functions; a dedicated one's setting may have changed since).
 */
function costOf(totals: Omit<JobTotals, 'computeMbMs'>, computeMbMs: number): number {
  const usd =
    (computeMbMs / 1024 / 1000) * PRICES.lambdaGbSecondUsd +
    totals.jobs * PRICES.lambdaRequestUsd +
    (totals.storageBytes / 1024 ** 3) * PRICES.s3GbMonthUsd;
  return Math.round(usd * 1e6) / 1e6;
}
