import { randomUUID } from 'node:crypto';
import { hostBilledJob } from '../core/hosted-billing.ts';
import type { TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { functionSettingsFor, incarnationOf, type Tenant } from '../core/tenant.ts';
import {
  apiRequestsRecord,
  laneHourRecord,
  storageDayRecord,
  type UsageRecord,
  usageOfFinishedJob,
  utcDay,
} from '../core/usage.ts';
import type { TenantJobStore } from '../ports/job-store.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';
import { withinPassDeadline } from '../runtime/refresh-after.ts';
import { allTenants } from './tenants.ts';

export interface MeterDeps {
  directory: TenantDirectory;
  stores: StoreProvider;
  usage: UsageLedger;
  /** Tenants whose jobs a function process of their own runs and records (the embedded dedicated lanes). */
  hosted?: HostedJobs;
}

/**
 * The embedded dedicated lanes, as the metering pass must see them: their function processes run a release's
 * model code and write the tenant's own store, so the host meters their finishes from its own figures
 * (runtime/host-compute.ts) and a pass makes up only what the host missed, never from the process's say.
 */
export interface HostedJobs {
  /** Whether the tenant's store is written by a function process of its own. */
  hosts(tenant: Tenant): boolean;
  /** Whether an event carrying the job is in flight in one of the tenant's processes: its host meters it. */
  carries(tenantId: TenantId, jobId: string): boolean;
}

const HOUR_MS = 3_600_000;
/** How far back a pass re-meters finished jobs: the crash window it closes is seconds, this is generous. */
export const RECONCILE_WINDOW_MS = 7 * 86_400_000;

/**
 * Re-meters one tenant's finished jobs created since `sinceMs` (all of them without it): the records a
 * crash between a job's commit and its usage write left out (dedicated databases, DynamoDB). Ids are
 * deterministic, so jobs already metered add nothing. Returns how many records were new.
 */
export async function meterFinishedJobs(deps: MeterDeps, tenant: Tenant, sinceMs?: number): Promise<number> {
  const jobs = tenantDataFor(deps.stores, tenant).jobs;
  const hosted = deps.hosted?.hosts(tenant) ? deps.hosted : undefined;
  let added = 0;
  let cursor: string | undefined;
  let older = false;
  do {
    const page = await jobs.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    const records: UsageRecord[] = [];
    for (const job of page.items) {
      if (sinceMs !== undefined && Date.parse(job.createdAt) < sinceMs) {
        older = true;
        break;
      }
      if (!hosted) records.push(...usageOfFinishedJob(job));
      // Checked after the page was read: an event answered since had its finish reported (and metered)
      // before its answer, so the host's records are in the ledger first. One in flight is the host's to meter.
      else if (!hosted.carries(tenant.id, job.id)) records.push(...usageOfUnreportedJob(tenant, job));
    }
    added += await deps.usage.record(records);
    cursor = page.nextCursor;
  } while (cursor && !older);
  return added;
}

/**
 * The usage of a finished job of a tenant's own function process whose finish its host did not meter (the
 * server stopped between the process's commit and its report, or the process never reported it): billed
 * as the host bills attempts it did not see — the record's run time, at most the time limit per attempt, at
 * the tenant's memory setting — under the tenant and at the pass's time (the record's `finishedAt` could
 * name a closed month), and never against the record's `billedBefore` (a finish after a requeue is the
 * host's to meter: its id is taken from the message, which the pass does not have).
 */
export function usageOfUnreportedJob(tenant: Tenant, job: JobRecord, now = Date.now()) {
  const settings = functionSettingsFor(tenant);
  return usageOfFinishedJob(
    hostBilledJob(job, {
      message: { tenantId: tenant.id, jobId: job.id, model: job.model },
      seen: { mbMs: 0, attempts: 0 },
      memoryMb: Math.trunc(settings.memoryMb),
      timeoutMs: settings.timeoutSec * 1000,
      finishedAt: new Date(now).toISOString(),
    }),
  );
}

/**
 * Meters every finished job in one of a tenant's stores (all its history) before the store is removed or
 * erased: a demotion's old dedicated store, an offboarded tenant's data. Nothing without a ledger.
 */
export async function meterStoreBeforeRemoval(
  usage: UsageLedger | undefined,
  jobs: TenantJobStore,
): Promise<number> {
  if (!usage) return 0;
  let added = 0;
  let cursor: string | undefined;
  do {
    const page = await jobs.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    added += await usage.record(page.items.flatMap((job) => usageOfFinishedJob(job)));
    cursor = page.nextCursor;
  } while (cursor);
  return added;
}

/** The tenant's artifact bytes today, recorded once per UTC day (the first pass of the day counts). */
export async function meterStorageDay(deps: MeterDeps, tenant: Tenant, now = Date.now()): Promise<number> {
  const objects = tenantDataFor(deps.stores, tenant).objects;
  let bytes = 0;
  let cursor: string | undefined;
  do {
    const page = await objects.list('jobs/', { ...(cursor ? { cursor } : {}) });
    for (const item of page.items) bytes += item.size;
    cursor = page.nextCursor;
  } while (cursor);
  return deps.usage.record([storageDayRecord(tenant.id, utcDay(now), bytes, tenant.createdAt)]);
}

/**
 * A dedicated tenant's lane hours: each started UTC hour it is dedicated, one record. A pass records the
 * current hour and the hours since `lastPassMs` (a stopped control plane's gap, at most a day back).
 */
export async function meterLaneHours(
  deps: MeterDeps,
  tenant: Tenant,
  now = Date.now(),
  lastPassMs = now,
): Promise<number> {
  if (tenant.placement !== 'dedicated') return 0;
  const records: UsageRecord[] = [];
  const from = Math.max(lastPassMs, now - 24 * HOUR_MS, Date.parse(tenant.createdAt));
  for (let t = Math.floor(from / HOUR_MS) * HOUR_MS; t <= now; t += HOUR_MS)
    records.push(laneHourRecord(tenant.id, t, tenant.createdAt));
  return deps.usage.record(records);
}

/** One metering pass over every tenant: reconcile finished jobs, today's storage, lane hours. */
export async function meterPass(
  deps: MeterDeps,
  options: { now?: number; lastPassMs?: number; sinceMs?: number } = {},
): Promise<number> {
  const now = options.now ?? Date.now();
  let added = 0;
  for (const tenant of await allTenants(deps)) {
    if (tenant.status === 'offboarding') continue;
    added += await meterFinishedJobs(deps, tenant, options.sinceMs ?? now - RECONCILE_WINDOW_MS);
    added += await meterStorageDay(deps, tenant, now);
    added += await meterLaneHours(deps, tenant, now, options.lastPassMs ?? now);
  }
  return added;
}

/**
 * How long one metering pass may take, ms (its interval is 5 minutes by default). One that never finished held
 * every later pass, and the server's stop, for good.
 */
export const METER_PASS_TIMEOUT_MS = 240_000;

/** The metering pass on a timer (default every 5 minutes), first run at once. */
export function startMetering(
  deps: MeterDeps,
  options: {
    intervalMs?: number;
    /** How long one pass may take, ms; default METER_PASS_TIMEOUT_MS. */
    passTimeoutMs?: number;
    onError?(error: unknown): void;
  } = {},
): { stop(): Promise<void>; runOnce(): Promise<number> } {
  let lastPassMs: number | undefined;
  let running: Promise<number> | undefined;
  const runOnce = () => {
    const now = Date.now();
    // Abandoned at its deadline, a pass's writes already under way may still land: records are keyed to what
    // they count, so the next pass writing them again counts nothing twice.
    running ??= withinPassDeadline(
      () => meterPass(deps, { now, ...(lastPassMs !== undefined ? { lastPassMs } : {}) }),
      options.passTimeoutMs ?? METER_PASS_TIMEOUT_MS,
      'A metering pass',
      options.onError,
    ).finally(() => {
      lastPassMs = now;
      running = undefined;
    });
    return running;
  };
  const tick = () => runOnce().catch(options.onError);
  const first = setTimeout(tick, 0);
  const timer = setInterval(tick, options.intervalMs ?? 300_000);
  first.unref();
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

/**
 * API requests counted in memory and written as one record per tenant per flush (`api/{tenant}/{uuid}`):
 * a write per request would put a SQLite commit on every request. A batch keeps its id until written,
 * so a failed flush retried never counts twice. A SIGKILL loses at most the last interval's counts
 * (docs/billing.md: the one meter that is at-most-once).
 *
 * Counted per tenant incarnation and UTC day, each batch stamped with the time of its last request, not of
 * the flush: billing tells an id's incarnations apart by time (`recordsOfIncarnation`: what is at or after
 * `createdAt`), and an id offboarded and onboarded again within one interval would otherwise have its
 * predecessor's last requests billed to the new customer; and a batch spanning a UTC midnight put the
 * requests of the day before (of the month before, on the 1st) on the new day.
 */
export function createApiRequestCounter(usage: UsageLedger, intervalMs = 1000) {
  let counts = new Map<string, { tenantId: Tenant['id']; n: number; lastAt: number }>();
  let pending: UsageRecord[] = [];
  const flush = async () => {
    for (const { tenantId, n, lastAt } of counts.values())
      pending.push(apiRequestsRecord(tenantId, randomUUID(), lastAt, n));
    counts = new Map();
    if (pending.length === 0) return;
    const batch = pending;
    await usage.record(batch);
    pending = pending.filter((r) => !batch.includes(r));
  };
  const timer = setInterval(() => flush().catch(() => undefined), intervalMs);
  timer.unref();
  return {
    count(tenant: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>) {
      // Tenant ids hold no space: an id, its incarnation and the day read back as one key.
      const now = Date.now();
      const key = `${tenant.id} ${incarnationOf(tenant)} ${utcDay(now)}`;
      const counted = counts.get(key);
      if (counted) {
        counted.n += 1;
        counted.lastAt = now;
      } else counts.set(key, { tenantId: tenant.id, n: 1, lastAt: now });
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
