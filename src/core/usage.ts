import { billedComputeMbMs } from './attempt-time.ts';
import type { TenantId } from './ids.ts';
import type { BilledBefore, JobRecord } from './job.ts';
import { billedBeforeOf } from './messages.ts';

/**
 * What is billed, each in an integer unit so sums are exact:
 * - `jobs`: finished jobs (succeeded or failed after running; a cancelled or never-started job is free);
 * - `compute_mb_ms`: memory (MB) × run time (ms) of those jobs — GB-seconds are this / 1024 / 1000. The run
 *   time is what the platform measured functions running the job (`billedComputeMs`, core/attempt-time.ts),
 *   not `finishedAt − startedAt`: a job the server settled (a dead letter, a lost message) finished when it
 *   was settled, long after anything stopped running. Each attempt counts at the memory its function ran
 *   with (`billedComputeMbMs`);
 * - `mc_paths`: Monte Carlo paths simulated;
 * - `storage_byte_days`: artifact bytes stored, once per UTC day;
 * - `api_requests`: API requests answered for the tenant;
 * - `dedicated_lane_hours`: hours (UTC, started) the tenant had its own lanes.
 */
export const METERS = [
  'jobs',
  'compute_mb_ms',
  'mc_paths',
  'storage_byte_days',
  'api_requests',
  'dedicated_lane_hours',
] as const;
export type Meter = (typeof METERS)[number];

export function isMeter(value: unknown): value is Meter {
  return typeof value === 'string' && (METERS as readonly string[]).includes(value);
}

/** One billable fact. `id` is deterministic from what it counts, so writing it twice stores it once. */
export interface UsageRecord {
  id: string;
  tenantId: TenantId;
  meter: Meter;
  /** The model it is about, for per-model totals (`''` for meters that are not per model). */
  model: string;
  /** Whole units of the meter. */
  quantity: number;
  /** When it happened (ISO 8601, UTC): a job's finish, a storage day's start, a lane hour's start. */
  at: string;
  /** `at`'s UTC day, `YYYY-MM-DD`: the key of every range query. */
  day: string;
}

/** `YYYY-MM-DD` of an instant, in UTC (billing days and months are UTC; docs/billing.md). */
export function utcDay(at: string | number | Date): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** `YYYY-MM` of an instant, in UTC. */
export function utcMonth(at: string | number | Date): string {
  return new Date(at).toISOString().slice(0, 7);
}

/** Whether the job is billed: it finished after actually running. */
export function isMeteredFinish(job: Pick<JobRecord, 'status' | 'startedAt' | 'finishedAt'>): boolean {
  return (job.status === 'succeeded' || job.status === 'failed') && !!job.startedAt && !!job.finishedAt;
}

function pathsOf(job: JobRecord): number {
  const input = job.effectiveInput;
  if (input === null || typeof input !== 'object' || !Object.hasOwn(input, 'simulations')) return 0;
  const n = (input as { simulations?: unknown }).simulations;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0;
}

/**
 * The usage records of a finished job (none for any other job): one job, its compute (each attempt's
 * measured run time in ms × the memory in MB it ran with, `billedComputeMbMs`), its Monte Carlo paths. Ids are
 * `job/{tenant}/{jobId}/{meter}`: the same job metered again — a redelivery, a reconciliation pass, a copy
 * after a move — yields the same ids, so the ledger keeps one of each. A finish after a requeue (a redriven
 * dead letter, an operator's retry: `billedBefore`) bills the compute run since the finish before under
 * `job/{tenant}/{jobId}/compute_mb_ms/after-{attempts}` (the attempts billed before), so each finish is
 * billed once and the later runs are billed too (docs/billing.md, "Redrive").
 */
export function usageOfFinishedJob(job: JobRecord): UsageRecord[] {
  if (!isMeteredFinish(job)) return [];
  const at = new Date(job.finishedAt!).toISOString();
  const base = { tenantId: job.tenantId, model: job.model, at, day: utcDay(at) };
  const id = (meter: Meter) => `job/${job.tenantId}/${job.id}/${meter}`;
  const before = billedBeforeOf(job.billedBefore);
  const compute: UsageRecord = before
    ? {
        ...base,
        id: `${id('compute_mb_ms')}/after-${before.attempts}`,
        meter: 'compute_mb_ms',
        quantity: Math.max(0, billedComputeMbMs(job) - before.computeMbMs),
      }
    : { ...base, id: id('compute_mb_ms'), meter: 'compute_mb_ms', quantity: billedComputeMbMs(job) };
  const records: UsageRecord[] = [{ ...base, id: id('jobs'), meter: 'jobs', quantity: 1 }];
  if (!before || compute.quantity > 0) records.push(compute);
  const paths = pathsOf(job);
  if (paths > 0) records.push({ ...base, id: id('mc_paths'), meter: 'mc_paths', quantity: paths });
  return records;
}

/**
 * What requeueing the finished `job` (a dead letter redriven, an operator's retry) writes on it, and in the
 * message that runs it again, so its next finish bills only what runs from now: `billedBefore`, the attempts
 * and compute its finish billed (they are cumulative: a second requeue takes the sums through the second
 * finish). `previous` is the `billedBefore` of the message being redriven (the control plane's copy): the
 * attempts grow past it whatever the record says, so a later finish never reuses an earlier finish's id (a
 * dedicated process writes its own records, `attempts` among them). A finish that was not billed (a cancel)
 * keeps the job's earlier `billedBefore`.
 */
export function requeuedBilling(job: JobRecord, previous?: BilledBefore): Pick<JobRecord, 'billedBefore'> {
  const earlier = previous ?? billedBeforeOf(job.billedBefore);
  if (!isMeteredFinish(job)) return earlier ? { billedBefore: earlier } : {};
  const attempts = Math.max(
    Number.isSafeInteger(job.attempts) ? job.attempts : 0,
    (earlier?.attempts ?? 0) + 1,
  );
  return { billedBefore: { attempts, computeMbMs: billedComputeMbMs(job) } };
}

/**
 * A period record's id and start for the tenant incarnation created at `createdAt`: the period's own, or,
 * for the period it was created in, its creation time with the id naming it. A tenant id offboarded and
 * onboarded again in one day (hour) is another customer: one id per period made the newcomer's record the
 * predecessor's (the first write counts), and the newcomer was billed for what it never stored or ran.
 */
function periodOf(key: string, startMs: number, createdAt: string | undefined): { id: string; at: string } {
  const created = createdAt === undefined ? Number.NaN : Date.parse(createdAt);
  if (!(created > startMs)) return { id: key, at: new Date(startMs).toISOString() };
  return { id: `${key}/${new Date(created).toISOString()}`, at: new Date(created).toISOString() };
}

/**
 * The day's storage record of a tenant: one per tenant incarnation per UTC day, whatever pass writes it.
 * `createdAt`: the incarnation's, so that its first day is its own (`periodOf`).
 */
export function storageDayRecord(
  tenantId: TenantId,
  day: string,
  bytes: number,
  createdAt?: string,
): UsageRecord {
  return {
    ...periodOf(`storage/${tenantId}/${day}`, Date.parse(`${day}T00:00:00.000Z`), createdAt),
    tenantId,
    meter: 'storage_byte_days',
    model: '',
    quantity: Math.max(0, Math.round(bytes)),
    day,
  };
}

/** One started UTC hour of a dedicated tenant's lanes (`createdAt`: as `storageDayRecord`'s). */
export function laneHourRecord(tenantId: TenantId, hourStartMs: number, createdAt?: string): UsageRecord {
  const hour = new Date(Math.floor(hourStartMs / 3_600_000) * 3_600_000).toISOString();
  const period = periodOf(`lane/${tenantId}/${hour.slice(0, 13)}`, Date.parse(hour), createdAt);
  return {
    ...period,
    tenantId,
    meter: 'dedicated_lane_hours',
    model: '',
    quantity: 1,
    day: utcDay(period.at),
  };
}

/** A batch of API requests of a tenant, named by the batch's own random id (one batch, one record). */
export function apiRequestsRecord(
  tenantId: TenantId,
  batchId: string,
  at: number,
  count: number,
): UsageRecord {
  const iso = new Date(at).toISOString();
  return {
    id: `api/${tenantId}/${batchId}`,
    tenantId,
    meter: 'api_requests',
    model: '',
    quantity: count,
    at: iso,
    day: utcDay(iso),
  };
}

/** An inclusive range of UTC days. */
export interface DayRange {
  from: string;
  to: string;
}

/** The days of a `YYYY-MM` month. */
export function monthRange(month: string): DayRange {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}
