import { hostBilledJob, type SeenAttempts } from '../core/hosted-billing.ts';
import { isTerminal, type JobRecord } from '../core/job.ts';
import type { JobMessage } from '../core/messages.ts';
import type { Call } from './child-protocol.ts';

// What a dedicated function process's jobs are billed, as its host saw them run. The process runs a
// release's model code (a tenant's own variant), so the run time, memory, tenant, model, finish time and
// `billedBefore` it writes on its job records and reports are the tenant's say: a variant that reports 1 ms
// at 64 MB paid for nothing, one that drops `billedBefore` had a redriven run billed under the id of its
// first finish (already taken: not billed). The host knows the message it sent, the memory it started the
// process with, and when it handed each event over and saw each job's outcome; docs/billing.md
// ("Dedicated processes"), the rule in core/hosted-billing.ts.

/** Jobs whose attempts the host tracks at most (ended attempts of jobs not finished yet); the oldest go first. */
const MAX_TRACKED = 10_000;

/** Where a job report comes from: the event (call) of a process that carries the job, and that process's memory. */
export interface ReportSource {
  call: Call;
  /** The memory setting (MB) the host started the process with. */
  memoryMb: number;
}

/**
 * The host's compute figures of one dedicated function's jobs (all its processes: a retry may run in the next
 * one). `observe` takes each job report the host relays and returns the job with, on a finished one, the
 * host's billed fields in place of the process's (`hostBilledJob`).
 * @param timeoutMs the function's event time limit (ms): what an attempt the host did not see (an earlier
 *   delivery in another host's life, on the shared pool before a promotion) is billed at most
 */
export function createHostCompute(timeoutMs: () => number) {
  const observed = new Map<string, SeenAttempts>();
  return {
    /**
     * The report `job` of `source` at `nowMs` (performance.now(), ms). A report that ends an attempt (any
     * status but `running`) adds the host's window for it, once per event: from when the host sent the event,
     * or saw the outcome of the event's job before (records run one after another), to now.
     */
    observe(job: JobRecord, source: ReportSource, nowMs: number): JobRecord {
      const message = source.call.jobs.get(job.id);
      if (!message) return job;
      if (job.status !== 'running') ended(source, message, nowMs);
      return isTerminal(job.status) ? billed(job, message, source.memoryMb) : job;
    },
    /**
     * The messages of `source`'s jobs whose attempt end the process did not report by `nowMs`, when its
     * event was answered or its process ended: each is taken as ended then, the host's window billed as for a
     * report (a process could commit a finish and never report it, or exit instead, and leave the metering
     * pass the record it wrote). Their records are read by the caller; `finish` bills a finished one.
     */
    unreported(source: ReportSource, nowMs: number): JobMessage[] {
      const messages: JobMessage[] = [];
      for (const message of source.call.jobs.values()) {
        if (source.call.ended?.has(message.jobId)) continue;
        ended(source, message, nowMs);
        messages.push(message);
      }
      return messages;
    },
    /** The finished record `job` (as read from the store) of `message`, as billed. */
    finish: (job: JobRecord, message: JobMessage, memoryMb: number): JobRecord =>
      billed(job, message, memoryMb),
  };

  /** The attempt of `message` in `source` ended at `nowMs`, once per event. */
  function ended(source: ReportSource, message: JobMessage, nowMs: number): void {
    const { call } = source;
    if (call.sentAt === undefined || call.ended?.has(message.jobId)) return;
    const ranMs = Math.max(0, Math.round(nowMs - Math.max(call.sentAt, call.lastOutcomeAt ?? 0)));
    call.ended ??= new Set();
    call.ended.add(message.jobId);
    call.lastOutcomeAt = nowMs;
    const key = `${message.tenantId}/${message.jobId}`;
    const seen = observed.get(key) ?? { mbMs: 0, attempts: 0 };
    observed.delete(key);
    observed.set(key, { mbMs: seen.mbMs + ranMs * source.memoryMb, attempts: seen.attempts + 1 });
    if (observed.size > MAX_TRACKED) observed.delete(observed.keys().next().value as string);
  }

  function billed(job: JobRecord, message: JobMessage, memoryMb: number): JobRecord {
    const key = `${message.tenantId}/${message.jobId}`;
    const seen = observed.get(key) ?? { mbMs: 0, attempts: 0 };
    observed.delete(key);
    return hostBilledJob(job, {
      message,
      seen,
      memoryMb,
      timeoutMs: timeoutMs(),
      finishedAt: new Date().toISOString(),
    });
  }
}

/** A tracker per function: what process-runtime.ts passes to each of its processes. */
export type HostCompute = ReturnType<typeof createHostCompute>;
