import type { BilledBefore, JobRecord } from './job.ts';
import type { JobMessage } from './messages.ts';

// What a job run by a tenant's own function process (an embedded dedicated lane) is billed as. The process
// runs a release's model code (a tenant's own variant among it) and writes the tenant's own store, so every
// field of its reports and records is its say; the platform bills from what it knows itself: the message it
// sent (tenant, job, model, a requeue's `billedBefore`), the memory it started the process with, the run it
// saw, and its own clock (docs/billing.md, "Dedicated processes").

/** Attempts of a job the host saw end, and their run time × the memory of the process each ran in (MB·ms). */
export interface SeenAttempts {
  mbMs: number;
  attempts: number;
}

/** What the host knows of a finished job besides the process's record. */
export interface HostFacts {
  /** The message the host sent the job in: its tenant, id, model and `billedBefore` are the platform's. */
  message: Pick<JobMessage, 'tenantId' | 'jobId' | 'model' | 'billedBefore'>;
  seen: SeenAttempts;
  /** The memory setting (MB) the host runs the function's processes with. */
  memoryMb: number;
  /** The function's event time limit (ms): what an attempt the host did not see is billed at most. */
  timeoutMs: number;
  /** When the host learnt of the finish (ISO 8601): the billed day, whatever the record says. */
  finishedAt: string;
}

/**
 * The finished `job` as it is billed (`usageOfFinishedJob`): its tenant, id, model and `billedBefore` from the
 * message, `finishedAt` the host's, `memoryMb` the host's and `computeMbMs` the attempts the host saw at its
 * figures plus those it did not (the record counts more attempts: a delivery in another host's life, on the
 * shared pool before a promotion) as the record says, at most the time limit each, at the host's memory. A
 * requeued job's attempts billed before are neither seen nor unseen: its figures start from theirs, so the
 * finish bills what the host saw since. `computeMs` stays the process's (what the job's readers see).
 */
export function hostBilledJob(job: JobRecord, facts: HostFacts): JobRecord {
  const { message, seen, memoryMb, timeoutMs, finishedAt } = facts;
  const before: BilledBefore | undefined = message.billedBefore;
  const priorAttempts = before?.attempts ?? 0;
  const attempts = Number.isSafeInteger(job.attempts) ? job.attempts : 0;
  const unseen = Math.max(0, attempts - priorAttempts - seen.attempts);
  const reportedMs = typeof job.computeMs === 'number' && job.computeMs > 0 ? job.computeMs : 0;
  const unseenMs = unseen === 0 ? 0 : Math.round(Math.min(reportedMs, unseen * timeoutMs));
  const { billedBefore: _claimed, ...rest } = job;
  return {
    ...rest,
    tenantId: message.tenantId,
    id: message.jobId,
    model: message.model,
    ...(before ? { billedBefore: before } : {}),
    // Metered only as a finish that ran: the host saw it (or the record says it) run.
    startedAt: typeof job.startedAt === 'string' ? job.startedAt : finishedAt,
    finishedAt,
    computeMbMs: (before?.computeMbMs ?? 0) + seen.mbMs + unseenMs * memoryMb,
    memoryMb,
  };
}
