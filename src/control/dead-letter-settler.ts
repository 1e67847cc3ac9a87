import { endUnseenAttempt } from '../core/attempt-time.ts';
import { ConditionFailedError } from '../core/errors.ts';
import type { JobId } from '../core/ids.ts';
import { isTerminal, type JobRecord } from '../core/job.ts';
import { storyWith } from '../core/job-story.ts';
import { decodeJobMessage } from '../core/messages.ts';
import { laneStoreOf, type StoreRef } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { announcementsFor } from '../functions/announcements.ts';
import { nextVersion, type TenantJobStore } from '../ports/job-store.ts';
import type { DeadLetterOutbox, MessageQueue } from '../ports/message-queue.ts';
import { jobDataFor } from '../ports/placement-data.ts';
import { type StoreProvider, type TenantData, tenantDataAt } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { withinPassDeadline } from '../runtime/refresh-after.ts';
import { retryOnConflict } from './conflicts.ts';

/** The error code of a job whose message was dead-lettered; a redrive puts exactly these back to `queued`. */
export const DEAD_LETTERED = 'dead_lettered';
/** The handler's code for a job that failed inside the handler on its last delivery; also redriven. */
export const RETRIES_EXHAUSTED = 'retries_exhausted';

export interface SettleDeps {
  directory: TenantDirectory;
  stores: StoreProvider;
  /** Announces the settled job to the tenant's webhook, as a handler's final commit does. */
  queue?: MessageQueue;
  /** Settled jobs are also announced for user notifications (see `announcementsFor`). */
  notifications?: boolean;
  /** On AWS a tenant-scoped session per job (see HandlerDeps.dataFor). */
  dataFor?(tenant: Tenant, jobId: JobId, lane?: StoreRef): Promise<TenantData>;
  /** Called with every job this settles (the local host relays it to SSE streams, which then end). */
  notify?(job: JobRecord): void;
}

export interface DeadLetter {
  /** The queue the message was dead-lettered from. */
  source: string;
  body: string;
  receiveCount: number;
  /**
   * Epoch ms of the move, where known (the embedded outbox). A job written after it was redriven in the
   * meantime: the record is stale and the job is left alone.
   */
  movedAt?: number;
}

/**
 * `settled`: the job was non-terminal and is now `failed`; `terminal`: it had already ended (a failure in
 * the handler marks it itself); `redriven`: it changed after the move; `gone`: no such tenant or job, or
 * not a job message.
 */
export type SettleOutcome = 'settled' | 'terminal' | 'redriven' | 'gone';

/** Where the job of a message on `source` is: the lane's store, or wherever a move has it now. */
export async function jobStoreOf(
  deps: SettleDeps,
  tenant: Tenant,
  jobId: JobId,
  source: string,
): Promise<TenantJobStore> {
  const lane = laneStoreOf(source, tenant.id);
  if (deps.dataFor) return (await deps.dataFor(tenant, jobId, lane)).jobs;
  if (lane) {
    const jobs = tenantDataAt(deps.stores, lane, tenant.id).jobs;
    if (await jobs.get(jobId)) return jobs;
  }
  return (await jobDataFor(deps.stores, tenant, jobId)).jobs;
}

/**
 * Marks the job of a dead-lettered message `failed` (code `dead_lettered`) unless it already ended.
 * Compare-and-set, so running it twice, or beside a late handler commit, settles the job once.
 */
export async function settleDeadLetter(deps: SettleDeps, letter: DeadLetter): Promise<SettleOutcome> {
  const message = decodeJobMessage(letter.body);
  if (!message) return 'gone';
  const tenant = await deps.directory.get(message.tenantId);
  if (!tenant) return 'gone';
  const jobs = await jobStoreOf(deps, tenant, message.jobId, letter.source);
  const movedAt = letter.movedAt;
  const failed = await failJob(
    jobs,
    message.jobId,
    {
      code: DEAD_LETTERED,
      message: `Dead-lettered after ${letter.receiveCount} receives from ${letter.source}: every attempt crashed, timed out or failed. An operator can redrive it.`,
    },
    movedAt === undefined ? undefined : (job) => Date.parse(job.updatedAt) <= movedAt,
  );
  if (failed === 'terminal') {
    // Whoever ended it may have died before announcing it (a handler's last delivery, or this settler on
    // an earlier pass of the same record): nothing else will.
    const job = await jobs.get(message.jobId);
    if (job && job.announcedAt === undefined) await announce(deps, tenant, jobs, job);
    return 'terminal';
  }
  if (failed === 'gone' || failed === 'skipped') return failed === 'skipped' ? 'redriven' : failed;
  await settled(deps, tenant, failed, jobs);
  return 'settled';
}

/**
 * Compare-and-set to `failed`, re-read and retried when another writer moved the job on first; `skipped`
 * when `still` says the job (as read now) no longer needs it. The server settles it, so `finishedAt` is
 * the settle time, not when anything stopped: an attempt still open is billed up to its last evidence
 * (core/attempt-time.ts), or, when `timeLimitMs` (ms) says the platform stopped it at its time limit, up
 * to that limit.
 */
export async function failJob(
  jobs: TenantJobStore,
  jobId: JobId,
  error: { code: string; message: string },
  still?: (job: JobRecord) => boolean,
  timeLimitMs?: number,
): Promise<JobRecord | 'terminal' | 'gone' | 'skipped'> {
  return retryOnConflict(async () => {
    const job = await jobs.get(jobId);
    if (!job) return 'gone';
    if (isTerminal(job.status)) return 'terminal';
    if (still && !still(job)) return 'skipped';
    const at = new Date().toISOString();
    const step = error.code === DEAD_LETTERED ? 'dead_lettered' : 'failed';
    const story = storyWith(
      job,
      [{ step, at, attempt: job.attempts, detail: `${error.code}: ${error.message}` }],
      [{ at, level: 'error', message: error.message, fields: { code: error.code } }],
    );
    const ran = endUnseenAttempt(job, Date.parse(at), timeLimitMs);
    return jobs.update(
      nextVersion(job, { status: 'failed', finishedAt: at, ...ran, error, ...story }),
      job.version,
    );
  });
}

/** Tells the tenant: the event stream (which then ends) and the webhook, as any final commit does. */
export async function settled(
  deps: SettleDeps,
  tenant: Tenant,
  job: JobRecord,
  jobs: TenantJobStore,
): Promise<void> {
  deps.notify?.(job);
  await announce(deps, tenant, jobs, job);
}

/**
 * Sends a succeeded or failed job's webhook and marks it announced (the handler's outbox, on single-item
 * writes): a crash between the two sends it again under the same dedup id and webhook-id.
 */
async function announce(
  deps: SettleDeps,
  tenant: Tenant,
  jobs: TenantJobStore,
  job: JobRecord,
): Promise<void> {
  const messages = announcementsFor(tenant, job, deps);
  if (messages.length === 0 || !deps.queue) return;
  for (const { queue, message } of messages) await deps.queue.send(queue, message);
  try {
    await jobs.update(nextVersion(job, { announcedAt: new Date().toISOString() }), job.version);
  } catch (error) {
    // Moved on meanwhile (a redrive, another settler): the announcement is out either way.
    if (!(error instanceof ConditionFailedError)) throw error;
  }
}

/**
 * How long one drain of the dead-letter outbox may take, ms. Each record is a job read and a compare-and-set
 * write or two; a store that never answered held every later drain, and the server's stop, for good.
 */
export const SETTLE_PASS_TIMEOUT_MS = 120_000;

export interface DeadLetterSettler {
  /** Settles every record in the outbox now (also what runs at start: records left by a crash). */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Settles the jobs of messages the embedded queue dead-lettered, from its outbox: at start (what a crash
 * left) and then every `intervalMs`. A record goes only after its job is settled, so a crash in between
 * settles it again, which compare-and-set makes harmless.
 */
export function startDeadLetterSettler(
  options: SettleDeps & {
    outbox: DeadLetterOutbox;
    intervalMs?: number;
    /** How long one drain may take, ms; default SETTLE_PASS_TIMEOUT_MS. */
    passTimeoutMs?: number;
    onSettled?(tenantId: string, outcome: SettleOutcome): void;
    onError?(error: unknown): void;
  },
): DeadLetterSettler {
  let stopped = false;
  let running: Promise<number> | undefined;

  /** Abandoned at its deadline, a drain takes no more records (what it settled is still marked done). */
  async function drainOnce(signal: AbortSignal): Promise<number> {
    let total = 0;
    while (!stopped && !signal.aborted) {
      const records = await options.outbox.deadLettered(50);
      if (records.length === 0) break;
      const done: number[] = [];
      for (const record of records) {
        try {
          const outcome = await settleDeadLetter(options, record);
          const tenantId = decodeJobMessage(record.body)?.tenantId;
          if (tenantId) options.onSettled?.(tenantId, outcome);
          done.push(record.id);
        } catch (error) {
          options.onError?.(error);
        }
      }
      await options.outbox.settled(done);
      total += done.length;
      // A record that keeps failing stays for the next tick rather than spinning here.
      if (done.length < records.length) break;
    }
    return total;
  }

  const drain = () => {
    running ??= withinPassDeadline(
      drainOnce,
      options.passTimeoutMs ?? SETTLE_PASS_TIMEOUT_MS,
      'A dead-letter settler drain',
      options.onError,
    ).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => drain().catch(options.onError), options.intervalMs ?? 1000);
  drain().catch(options.onError);
  return {
    drain,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
