import type { JobRecord } from './job.ts';

/**
 * The run time of a job's attempts, as the platform measured it: what `compute_mb_ms` bills
 * (docs/billing.md, "Compute"). Only time a function was seen running the job counts: the wait between
 * attempts (a retry's backoff), a dead letter's sweep delay and a reconciler's grace period do not, and an
 * attempt whose end the platform never saw (its process or thread crashed, its message was lost) counts up
 * to its last evidence only — the platform's crash is not the customer's cost. Each attempt is billed at the
 * memory its own function ran with (`memoryMb`, recorded when it starts): a memory setting changed between
 * attempts bills each at its own, summed in `computeMbMs`.
 */
type Attempted = Pick<
  JobRecord,
  | 'status'
  | 'attempts'
  | 'startedAt'
  | 'computeMs'
  | 'computedAttempts'
  | 'progress'
  | 'memoryMb'
  | 'computeMbMs'
>;

/**
 * What ending an attempt writes on the job: its run time added to `computeMs`, that run time × the memory the
 * attempt ran with added to `computeMbMs`, the attempt counted.
 */
export type AttemptEnd = Pick<JobRecord, 'computeMs' | 'computeMbMs' | 'computedAttempts'>;

/**
 * Memory (MB) an attempt is billed at when its function did not record one (a record from before memory was
 * recorded, a function that does not know its own): the default function size (core/tenant.ts).
 */
export const DEFAULT_MEMORY_MB = 512;

/** `value` when it is a memory size (a whole, positive number of MB), else undefined. */
export function memorySizeOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The memory (MB) the job's current attempt is billed at: what its function recorded, else the default. */
export function attemptMemoryMb(job: Pick<JobRecord, 'memoryMb'>): number {
  return memorySizeOf(job.memoryMb) ?? DEFAULT_MEMORY_MB;
}

/**
 * MB·ms of the attempts already counted: `computeMbMs`, or, on a record from before it was kept, its
 * `computeMs` at the default memory (those attempts ran at a memory nobody recorded, billed at the default).
 */
function countedMbMs(job: Pick<JobRecord, 'computeMs' | 'computeMbMs'>): number {
  if (typeof job.computeMbMs === 'number' && Number.isFinite(job.computeMbMs)) return job.computeMbMs;
  return (job.computeMs ?? 0) * DEFAULT_MEMORY_MB;
}

/**
 * Failure codes of jobs the server, not a function, finished (control/dead-letter-settler.ts,
 * control/job-reconciler.ts, control/timed-out-jobs.ts): their `finishedAt` is when the server settled
 * them, not when anything stopped running.
 */
export const SERVER_SETTLED_CODES: ReadonlySet<string> = new Set([
  'dead_lettered',
  'message_lost',
  'timeout',
]);

/** Whether the job's current attempt has started and its run time is not in `computeMs` yet. */
export function hasOpenAttempt(job: Attempted): boolean {
  if (job.status !== 'running' || !job.startedAt || !(job.attempts > 0)) return false;
  // A record from before attempts were counted: its current attempt is the open one.
  return (job.computedAttempts ?? job.attempts - 1) < job.attempts;
}

/**
 * Ends the open attempt at `endMs` (epoch ms): its run time from `startedAt` (never negative) added to
 * `computeMs`, and that run time × the attempt's memory (`attemptMemoryMb`) to `computeMbMs`. Nothing when
 * no attempt is open (already ended, or never started), so a second end of one attempt adds nothing.
 */
export function endAttempt(job: Attempted, endMs: number): AttemptEnd {
  if (!hasOpenAttempt(job)) return {};
  const rounded = Math.max(0, Math.round(endMs - Date.parse(job.startedAt!)));
  const ranMs = Number.isFinite(rounded) ? rounded : 0;
  return {
    computeMs: (job.computeMs ?? 0) + ranMs,
    computeMbMs: countedMbMs(job) + ranMs * attemptMemoryMb(job),
    computedAttempts: job.attempts,
  };
}

/** Epoch ms of the last evidence that the open attempt was running: its start, or its last progress write. */
export function lastEvidenceMs(job: Attempted): number {
  const start = Date.parse(job.startedAt ?? '');
  const progressAt = Date.parse(job.progress?.at ?? '');
  return Number.isFinite(progressAt) && progressAt > start ? progressAt : start;
}

/**
 * Ends an attempt whose end its function never reported (the server settles the job, or a redelivery takes
 * it over): billed up to its last evidence (`lastEvidenceMs`), or, when the platform itself stopped it at
 * its time limit `limitMs` (ms), up to that limit (it ran that long), never past `nowMs`.
 */
export function endUnseenAttempt(job: Attempted, nowMs: number, limitMs?: number): AttemptEnd {
  if (!hasOpenAttempt(job)) return {};
  if (limitMs !== undefined && Number.isFinite(limitMs) && limitMs >= 0)
    return endAttempt(job, Math.min(nowMs, Date.parse(job.startedAt!) + limitMs));
  return endAttempt(job, Math.min(nowMs, lastEvidenceMs(job)));
}

/**
 * The patch that starts the job's next attempt at `at` (ISO 8601), run by a function with `memoryMb` (MB;
 * undefined when it does not know its memory: the attempt is billed at DEFAULT_MEMORY_MB): an attempt still
 * open (a delivery that crashed or was taken over) is ended at its last evidence first, at its own memory,
 * and the old attempt's progress dropped (it is not this attempt's evidence).
 */
export function startAttempt(
  job: Attempted,
  at: string,
  memoryMb: number | undefined,
): Pick<
  JobRecord,
  'attempts' | 'startedAt' | 'computeMs' | 'computeMbMs' | 'computedAttempts' | 'memoryMb' | 'progress'
> {
  const ended = endUnseenAttempt(job, Date.parse(at));
  return {
    attempts: job.attempts + 1,
    startedAt: at,
    computeMs: ended.computeMs ?? job.computeMs ?? 0,
    computeMbMs: ended.computeMbMs ?? countedMbMs(job),
    computedAttempts: job.attempts,
    // Undefined clears the previous attempt's: this one's memory is not known.
    memoryMb: memorySizeOf(memoryMb),
    progress: undefined,
  };
}

/**
 * The compute a finished job is billed, in MB·ms (`compute_mb_ms`): its `computeMbMs`, each attempt's run
 * time at the memory it ran with. A record without it (from before it was kept) bills `billedComputeMs` at
 * its recorded memory, else the default.
 */
export function billedComputeMbMs(
  job: Pick<JobRecord, 'computeMs' | 'computeMbMs' | 'memoryMb' | 'startedAt' | 'finishedAt' | 'error'>,
): number {
  if (typeof job.computeMbMs === 'number')
    return Number.isFinite(job.computeMbMs) ? Math.max(0, Math.round(job.computeMbMs)) : 0;
  return billedComputeMs(job) * attemptMemoryMb(job);
}

/**
 * The compute a finished job is billed, in milliseconds: its measured `computeMs`. A record from before
 * it was measured keeps the old rule (`finishedAt − startedAt`) only when a function finished it; one the
 * server settled (`SERVER_SETTLED_CODES`) bills none, as its `finishedAt` is the settle time.
 */
export function billedComputeMs(
  job: Pick<JobRecord, 'computeMs' | 'startedAt' | 'finishedAt' | 'error'>,
): number {
  if (typeof job.computeMs === 'number')
    return Number.isFinite(job.computeMs) ? Math.max(0, Math.round(job.computeMs)) : 0;
  if (job.error && SERVER_SETTLED_CODES.has(job.error.code)) return 0;
  if (!job.startedAt || !job.finishedAt) return 0;
  const ms = Math.round(Date.parse(job.finishedAt) - Date.parse(job.startedAt));
  return Number.isFinite(ms) ? Math.max(0, ms) : 0;
}
