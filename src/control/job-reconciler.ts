import { StoreNotFoundError } from '../core/errors.ts';
import type { JobId } from '../core/ids.ts';
import { isTerminal, type JobRecord } from '../core/job.ts';
import { decodeJobMessage, encodeJobMessage } from '../core/messages.ts';
import { laneFor, storeFor } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { announces } from '../functions/announcements.ts';
import { nextVersion } from '../ports/job-store.ts';
import type { MessageQueue, QueueScan } from '../ports/message-queue.ts';
import { tenantDataAt } from '../ports/stores.ts';
import { refreshAfterChange } from '../runtime/refresh-after.ts';
import { failJob, type SettleDeps, settleDeadLetter, settled } from './dead-letter-settler.ts';
import type { RecoveryAction } from './metrics.ts';

export interface ReconcileOptions extends SettleDeps {
  queue: MessageQueue & QueueScan;
  /** A job untouched for less than this is left alone: its message may be on its way (ms). */
  graceMs: number;
  /** Deliveries a job may have had; one without a live message after that many is settled, not re-sent. */
  maxAttempts: number;
  onRecovered?(tenantId: string, action: RecoveryAction): void;
}

export interface ReconcileReport {
  checked: number;
  settled: number;
  resent: number;
  /** Jobs settled by a recovery path whose notification a crash had cut off, announced now. */
  announced: number;
}

/** Failure codes recovery gives the jobs it settles (this reconciler, the dead-letter settler). */
const RECOVERY_CODES: ReadonlySet<string> = new Set(['message_lost', 'dead_lettered']);

const JOB_LANE = /^(shared|tenant)_/;
const DLQ_SUFFIX = '-dlq';

/**
 * One pass over every non-terminal job that has not changed for `graceMs`: one whose message is in no
 * lane queue (any cause: an expired or purged message, a crash between a record and its send, a dead
 * letter whose outbox record was lost) is settled as `failed` when its message is dead-lettered or it has
 * had its deliveries, and otherwise sent again (its effects are idempotent: compare-and-set, fixed keys).
 * Tenants in a move or offboarding are skipped: the move owns their messages.
 */
export async function reconcileJobs(
  options: ReconcileOptions,
  signal?: AbortSignal,
): Promise<ReconcileReport> {
  const report: ReconcileReport = { checked: 0, settled: 0, resent: 0, announced: 0 };
  // A crash between settling a job here (or in the dead-letter settler) and queueing its webhook left it
  // failed and unannounced, with no message left to bring it back: announce it (same dedup id and
  // webhook-id, so a receiver that had it sees the same notification again at most).
  for (const { tenant, job } of await unannouncedRecoveries(options)) {
    signal?.throwIfAborted();
    await settled(options, tenant, job, tenantDataAt(options.stores, storeFor(tenant), tenant.id).jobs);
    report.announced++;
  }
  const stale = await staleJobs(options);
  if (stale.length === 0) return report;
  const { live, dead } = await scanMessages(options.queue);
  for (const { tenant, job } of stale) {
    // A pass abandoned at its deadline settles and re-sends nothing more (each write is compare-and-set too).
    signal?.throwIfAborted();
    report.checked++;
    if (live.has(job.id)) continue;
    const jobs = tenantDataAt(options.stores, storeFor(tenant), tenant.id).jobs;
    const letter = dead.get(job.id);
    if (letter) {
      // Only if the job has not changed since it was read (a redrive writes it before it re-sends).
      const movedAt = Date.parse(job.updatedAt);
      if ((await settleDeadLetter(options, { ...letter, movedAt })) === 'settled') {
        report.settled++;
        options.onRecovered?.(tenant.id, 'reconciled_settled');
      }
      continue;
    }
    if (job.attempts >= options.maxAttempts) {
      const failed = await failJob(
        jobs,
        job.id,
        {
          code: 'message_lost',
          message: `The job's message was lost after ${job.attempts} attempts; it was not run again.`,
        },
        (current) => current.version === job.version,
      );
      if (typeof failed === 'object') {
        await settled(options, tenant, failed, jobs);
        report.settled++;
        options.onRecovered?.(tenant.id, 'reconciled_settled');
      }
      continue;
    }
    // A new version first: a second reconciler (or pass) that read the old one leaves it alone.
    const touched = await jobs.update(nextVersion(job, {}), job.version).catch(() => undefined);
    if (!touched) continue;
    await options.queue.send(laneFor(tenant, job.model).queue, {
      body: encodeJobMessage({
        tenantId: tenant.id,
        jobId: job.id,
        model: job.model,
        ...(job.billedBefore ? { billedBefore: job.billedBefore } : {}),
      }),
      groupId: tenant.id,
      cost: job.cost,
      priority: job.priority,
    });
    report.resent++;
    options.onRecovered?.(tenant.id, 'reconciled_resent');
  }
  return report;
}

/**
 * A tenant whose dedicated store is gone (removed by a demotion that ended during this pass, read from a
 * page listed before) has no jobs there: the pass goes on with the other tenants.
 */
async function unlessStoreGone(read: () => Promise<void>): Promise<void> {
  try {
    await read();
  } catch (error) {
    if (!(error instanceof StoreNotFoundError)) throw error;
  }
}

async function unannouncedRecoveries(
  options: ReconcileOptions,
): Promise<{ tenant: Tenant; job: JobRecord }[]> {
  const before = Date.now() - options.graceMs;
  const out: { tenant: Tenant; job: JobRecord }[] = [];
  let cursor: string | undefined;
  do {
    const page = await options.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      if (!announces(tenant, options) || tenant.move || tenant.status === 'offboarding') continue;
      await unlessStoreGone(async () => {
        const jobs = tenantDataAt(options.stores, storeFor(tenant), tenant.id).jobs;
        let jobCursor: string | undefined;
        do {
          const jobPage = await jobs.list({
            status: 'failed',
            limit: 100,
            ...(jobCursor ? { cursor: jobCursor } : {}),
          });
          for (const job of jobPage.items) {
            const recovered = job.error !== undefined && RECOVERY_CODES.has(job.error.code);
            if (recovered && !job.announcedAt && Date.parse(job.updatedAt) < before)
              out.push({ tenant, job });
          }
          jobCursor = jobPage.nextCursor;
        } while (jobCursor);
      });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

async function staleJobs(options: ReconcileOptions): Promise<{ tenant: Tenant; job: JobRecord }[]> {
  const before = Date.now() - options.graceMs;
  const out: { tenant: Tenant; job: JobRecord }[] = [];
  let cursor: string | undefined;
  do {
    const page = await options.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      if (tenant.move || tenant.status === 'offboarding') continue;
      await unlessStoreGone(async () => {
        const jobs = tenantDataAt(options.stores, storeFor(tenant), tenant.id).jobs;
        for (const status of ['queued', 'running'] as const) {
          let jobCursor: string | undefined;
          do {
            const jobPage = await jobs.list({
              status,
              limit: 100,
              ...(jobCursor ? { cursor: jobCursor } : {}),
            });
            for (const job of jobPage.items) {
              if (!isTerminal(job.status) && Date.parse(job.updatedAt) < before) out.push({ tenant, job });
            }
            jobCursor = jobPage.nextCursor;
          } while (jobCursor);
        }
      });
    }
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Jobs with a message in a lane queue, and the dead letters of the rest (by job id). */
async function scanMessages(queue: MessageQueue & QueueScan) {
  const live = new Set<JobId>();
  const dead = new Map<JobId, { source: string; body: string; receiveCount: number }>();
  for (const name of await queue.listQueues()) {
    if (!JOB_LANE.test(name)) continue;
    const isDlq = name.endsWith(DLQ_SUFFIX);
    for (const message of await queue.scan(name)) {
      const decoded = decodeJobMessage(message.body);
      if (!decoded) continue;
      if (!isDlq) live.add(decoded.jobId);
      else
        dead.set(decoded.jobId, {
          source: name.slice(0, -DLQ_SUFFIX.length),
          body: message.body,
          receiveCount: message.receiveCount,
        });
    }
  }
  return { live, dead };
}

/**
 * How long one reconciler pass may take, ms: past it the pass is abandoned (reported as a
 * PassDeadlineError) and the next tick starts a new one. A store or queue scan that never answered held
 * every later pass, and the server's stop, for good.
 */
export const RECONCILE_PASS_TIMEOUT_MS = 120_000;

/** Runs `reconcileJobs` every `intervalMs` (the first pass after one interval: startup is busy enough). */
export function startJobReconciler(
  options: ReconcileOptions & {
    intervalMs: number;
    /** Default RECONCILE_PASS_TIMEOUT_MS. */
    passTimeoutMs?: number;
    onError?(error: unknown): void;
  },
): { stop(): Promise<void> } {
  // One pass at a time; a tick during one asks for one more after it (refresh-after.ts), bounded each.
  const passes = refreshAfterChange(
    async (signal) => {
      await reconcileJobs(options, signal);
    },
    {
      what: 'A job reconciler pass',
      timeoutMs: options.passTimeoutMs ?? RECONCILE_PASS_TIMEOUT_MS,
      ...(options.onError ? { onLate: options.onError } : {}),
    },
  );
  const timer = setInterval(() => {
    passes.refresh().catch((error: unknown) => options.onError?.(error));
  }, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await passes.idle();
    },
  };
}
