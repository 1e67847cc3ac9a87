import { isTerminal, type JobRecord } from '../core/job.ts';
import type { Call } from './child-protocol.ts';

// What a dedicated function process's jobs are billed, as its host saw them run. The process runs a
// release's model code (a tenant's own variant), so the run time and memory it writes on its job records and
// reports are the tenant's say: a variant that reports 1 ms at 64 MB paid for nothing. The host knows the
// memory it started the process with and when it handed each event over and saw each job's outcome;
// docs/billing.md ("Dedicated processes").

/** Jobs whose attempts the host tracks at most (ended attempts of jobs not finished yet); the oldest go first. */
const MAX_TRACKED = 10_000;

interface Observed {
  /** Those attempts' run time × the memory of the process each ran in, MB·ms. */
  mbMs: number;
  attempts: number;
}

/** Where a job report comes from: the event (call) of a process that carries the job, and that process's memory. */
export interface ReportSource {
  call: Call;
  /** The memory setting (MB) the host started the process with. */
  memoryMb: number;
}

/**
 * The host's compute figures of one dedicated function's jobs (all its processes: a retry may run in the next
 * one). `observe` takes each job report the host relays and returns the job with, on a finished one, the
 * host's `computeMs`, `computeMbMs` and `memoryMb` in place of the process's.
 * @param timeoutMs the function's event time limit (ms): what an attempt the host did not see (an earlier
 *   delivery in another host's life, on the shared pool before a promotion) is billed at most
 */
export function createHostCompute(timeoutMs: () => number) {
  const observed = new Map<string, Observed>();
  return {
    /**
     * The report `job` of `source` at `nowMs` (performance.now(), ms). A report that ends an attempt (any
     * status but `running`) adds the host's window for it, once per event: from when the host sent the event,
     * or saw the outcome of the event's job before (records run one after another), to now.
     */
    observe(job: JobRecord, source: ReportSource, nowMs: number): JobRecord {
      const { call } = source;
      const key = `${job.tenantId}/${job.id}`;
      if (job.status !== 'running' && call.sentAt !== undefined && !call.ended?.has(job.id)) {
        const ranMs = Math.max(0, Math.round(nowMs - Math.max(call.sentAt, call.lastOutcomeAt ?? 0)));
        call.ended ??= new Set();
        call.ended.add(job.id);
        call.lastOutcomeAt = nowMs;
        const seen = observed.get(key) ?? { mbMs: 0, attempts: 0 };
        observed.delete(key);
        observed.set(key, {
          mbMs: seen.mbMs + ranMs * source.memoryMb,
          attempts: seen.attempts + 1,
        });
        if (observed.size > MAX_TRACKED) observed.delete(observed.keys().next().value as string);
      }
      if (!isTerminal(job.status)) return job;
      const seen = observed.get(key) ?? { mbMs: 0, attempts: 0 };
      observed.delete(key);
      return { ...job, ...hostFigures(job, seen, source.memoryMb, timeoutMs()) };
    },
  };
}

/**
 * The billed figures of a finished job: the attempts the host saw at its figures; those it did not see (the
 * record counts more attempts) as the record says, at most the time limit each, at the memory the host runs
 * the function with now (the record's memory is the process's say too). A requeued job's attempts billed
 * before (`billedBefore`) are neither seen nor unseen: its figures start from theirs, so the finish bills
 * (core/usage.ts) what the host saw since.
 */
function hostFigures(
  job: JobRecord,
  seen: Observed,
  memoryMb: number,
  timeoutMs: number,
): Pick<JobRecord, 'computeMbMs' | 'memoryMb'> {
  const before = job.billedBefore;
  const priorAttempts = before && Number.isInteger(before.attempts) ? Math.max(0, before.attempts) : 0;
  const priorMbMs = before && Number.isFinite(before.computeMbMs) ? Math.max(0, before.computeMbMs) : 0;
  const attempts = Number.isInteger(job.attempts) ? job.attempts : 0;
  const unseen = Math.max(0, attempts - priorAttempts - seen.attempts);
  const reportedMs = typeof job.computeMs === 'number' && job.computeMs > 0 ? job.computeMs : 0;
  const unseenMs = unseen === 0 ? 0 : Math.round(Math.min(reportedMs, unseen * timeoutMs));
  // `computeMs` stays the process's (what the job's readers see, as its store shows it): MB·ms is what bills.
  return { computeMbMs: priorMbMs + seen.mbMs + unseenMs * memoryMb, memoryMb };
}

/** A tracker per function: what process-runtime.ts passes to each of its processes. */
export type HostCompute = ReturnType<typeof createHostCompute>;
