import { billedComputeMbMs, billedComputeMs } from '../core/attempt-time.ts';
import { storeFor } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { isMeteredFinish } from '../core/usage.ts';
import type { UsagePeriod } from '../core/usage-period.ts';
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
  /** Jobs submitted in the period (all still stored, without one). */
  jobs: number;
  /** Run time, seconds, functions were measured running the finished jobs (as `compute_mb_ms` bills it, core/attempt-time.ts). */
  computeSeconds: number;
  /** Bytes of stored artifacts of those jobs. */
  storageBytes: number;
  /**
   * Estimated, of those jobs and over the same period only: compute at the memory each job's attempts ran
   * with (as `compute_mb_ms` bills it), one request per job, and their artifacts' storage from each job's
   * finish to the period's end (byte-time at the GB-month price, a month = 30 days).
   */
  costUsd: number;
}

export interface UsageDeps {
  directory: TenantDirectory;
  stores: StoreProvider;
  queue: MessageQueue;
  metrics?: TenantMetrics;
}

/**
 * Usage and cost per tenant: totals from the job records, live figures from the queue and this process.
 * With `period` (core/usage-period.ts), only jobs created in it count, every figure is of that period, and a
 * tenant's jobs are read newest first only back to its start (a pass stays proportional to the period's
 * volume, not to all history). Without, every stored job, with storage to now.
 */
export async function usageReport(
  deps: UsageDeps,
  options: { period?: UsagePeriod } = {},
  now = Date.now(),
): Promise<TenantUsage[]> {
  const period = options.period ?? { fromMs: Number.NEGATIVE_INFINITY, toMs: now };
  const queued = await queuedJobsByTenant(deps.queue);
  const items: TenantUsage[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      const { computeMbMs, storageByteMs, ...totals } = await jobTotals(deps.stores, tenant, period);
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
        costUsd: costOf(totals.jobs, computeMbMs, storageByteMs),
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
  /** Byte·ms of the artifacts stored within the period. */
  storageByteMs: number;
};

/** One pass over the tenant's job records (newest first), a page at a time, back to the period's start. */
async function jobTotals(stores: StoreProvider, tenant: Tenant, period: UsagePeriod): Promise<JobTotals> {
  const jobs = tenantDataAt(stores, storeFor(tenant), tenant.id).jobs;
  const totals: JobTotals = {
    jobs: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    computeSeconds: 0,
    storageBytes: 0,
    computeMbMs: 0,
    storageByteMs: 0,
  };
  let cursor: string | undefined;
  let older = false;
  do {
    const page = await jobs.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const job of page.items) {
      const createdMs = Date.parse(job.createdAt);
      if (createdMs < period.fromMs) {
        older = true;
        break;
      }
      // Created after the period's end (while this pass ran, or a period in the past): not of it.
      if (createdMs >= period.toMs) continue;
      totals.jobs++;
      if (job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled')
        totals[job.status]++;
      // The measured run time, as billed: a settled job's `finishedAt` is when the server settled it.
      if (isMeteredFinish(job)) {
        totals.computeSeconds += billedComputeMs(job) / 1000;
        totals.computeMbMs += billedComputeMbMs(job);
      }
      // Stored from the job's finish (its artifacts are written by then) to the period's end.
      const storedMs = Math.max(0, period.toMs - Date.parse(job.finishedAt ?? job.createdAt));
      for (const artifact of job.artifacts) {
        totals.storageBytes += artifact.size;
        totals.storageByteMs += artifact.size * storedMs;
      }
    }
    cursor = page.nextCursor;
  } while (cursor && !older);
  totals.computeSeconds = Math.round(totals.computeSeconds * 1000) / 1000;
  return totals;
}

const STORAGE_MONTH_MS = 30 * 86_400_000;

/**
 * The estimate in USD, every part over one period: GB-seconds as billed (`computeMbMs` / 1024 / 1000), never
 * the tenant's memory setting now (a shared tenant's jobs ran on the shared functions; a dedicated one's
 * setting may have changed since); a request per job; storage as GB-months stored in the period. It used to
 * add a whole month of storage to compute of any period (all history by default).
 */
function costOf(jobs: number, computeMbMs: number, storageByteMs: number): number {
  const usd =
    (computeMbMs / 1024 / 1000) * PRICES.lambdaGbSecondUsd +
    jobs * PRICES.lambdaRequestUsd +
    (storageByteMs / STORAGE_MONTH_MS / 1024 ** 3) * PRICES.s3GbMonthUsd;
  return Math.round(usd * 1e6) / 1e6;
}
