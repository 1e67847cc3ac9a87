import type { Context } from '@opentelemetry/api';
import { ConditionFailedError, ConflictError, NotFoundError } from '../core/errors.ts';
import { isJobId, type TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { type StoryEvent, storyWith } from '../core/job-story.ts';
import { decodeJobMessage, encodeJobMessage } from '../core/messages.ts';
import { laneFor, sharedQueueName } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { requeuedBilling } from '../core/usage.ts';
import { contextOfSpan, inSpan, jobTraceContext, withTraceContext } from '../observability/spans.ts';
import { nextVersion } from '../ports/job-store.ts';
import { deadLetterQueueName, type MessageQueue, type SendMessage } from '../ports/message-queue.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { DEAD_LETTERED, RETRIES_EXHAUSTED } from './dead-letter-settler.ts';

export interface JobActionDeps {
  directory: TenantDirectory;
  stores: StoreProvider;
  queue: MessageQueue;
}

/** An operator's action on one job; `by` is who did it (the operator's subject), for the job's story. */
export interface JobAction {
  tenantId: TenantId;
  jobId: string;
  by: string;
}

/**
 * Runs a failed job again, as a new attempt: the record goes back to `queued` (its error cleared, a
 * `retried` step in its story) by compare-and-set, then its message is sent. Two operators retrying at once
 * make one retry: the second write loses and answers 409 `not_retryable`. A crash between the write and the
 * send leaves a queued job without a message, which the job reconciler sends again.
 */
export function retryJob(deps: JobActionDeps, action: JobAction): Promise<JobRecord> {
  return act(deps, action, 'job.retry', async (tenant, job, jobs, trace) => {
    refuseUnlessActive(tenant, 'retried');
    if (job.status !== 'failed') {
      throw new ConflictError(
        `Only a failed job can be retried; this one is ${job.status}.`,
        'not_retryable',
      );
    }
    const queued = await requeue(jobs, job, {
      step: 'retried',
      at: new Date().toISOString(),
      attempt: job.attempts + 1,
      ...byOperator(action),
    }).catch(lost('not_retryable', 'The job changed while it was being retried; reload it.'));
    await send(deps.queue, tenant, queued, trace);
    return queued;
  });
}

/**
 * Cancels a job that no function has claimed yet. A claimed (running) or finished job is refused with 409
 * `not_cancellable`: its run cannot be taken back, and a cancel that raced the claim loses the same way.
 */
export function cancelJob(deps: JobActionDeps, action: JobAction): Promise<JobRecord> {
  return act(deps, action, 'job.cancel', async (_tenant, job, jobs) => {
    if (job.status !== 'queued') {
      const why = job.status === 'running' ? 'a function has already claimed it' : `it is ${job.status}`;
      throw new ConflictError(`Only a queued job can be cancelled; ${why}.`, 'not_cancellable');
    }
    const at = new Date().toISOString();
    const story = storyWith(job, [{ step: 'cancelled', at, ...byOperator(action) }]);
    return jobs
      .update(nextVersion(job, { status: 'cancelled', finishedAt: at, ...story }), job.version)
      .catch(lost('not_cancellable', 'A function claimed the job before it could be cancelled.'));
  });
}

/**
 * Sends a dead-lettered job (or one whose retries ran out) back to its lane: the record goes back to
 * `queued` with a `redriven` step, then the message is sent and its dead letter deleted, so a later
 * "redrive all" of the queue does not send it twice. Refused with 409 `not_dead_lettered` otherwise.
 */
export function redriveJob(deps: JobActionDeps, action: JobAction): Promise<JobRecord> {
  return act(deps, action, 'job.redrive', async (tenant, job, jobs, trace) => {
    refuseUnlessActive(tenant, 'redriven');
    const code = job.error?.code;
    if (job.status !== 'failed' || (code !== DEAD_LETTERED && code !== RETRIES_EXHAUSTED)) {
      throw new ConflictError(
        'Only a dead-lettered job (or one whose retries ran out) can be redriven from the job.',
        'not_dead_lettered',
      );
    }
    const queued = await requeue(jobs, job, {
      step: 'redriven',
      at: new Date().toISOString(),
      attempt: job.attempts + 1,
      ...byOperator(action),
    }).catch(lost('not_dead_lettered', 'The job changed while it was being redriven; reload it.'));
    await send(deps.queue, tenant, queued, trace);
    await deleteDeadLetter(deps.queue, tenant, queued);
    return queued;
  });
}

type Jobs = ReturnType<typeof tenantDataFor>['jobs'];

/**
 * A job runs again only for an active tenant, as a submit does: a suspended tenant's work stays stopped,
 * and an offboarding one's would put messages and results back while its data is exported and erased.
 * Throws `ConflictError` 409 `tenant_not_active`.
 */
function refuseUnlessActive(tenant: Tenant, what: string): void {
  if (tenant.status !== 'active')
    throw new ConflictError(
      `The tenant is ${tenant.status}: its jobs are not ${what} until it is active again.`,
      'tenant_not_active',
    );
}

async function act(
  deps: JobActionDeps,
  action: JobAction,
  name: string,
  run: (tenant: Tenant, job: JobRecord, jobs: Jobs, trace: Context) => Promise<JobRecord>,
): Promise<JobRecord> {
  const tenant = await deps.directory.get(action.tenantId);
  if (!tenant) throw new NotFoundError(`Tenant "${action.tenantId}"`);
  if (!isJobId(action.jobId)) throw new NotFoundError('Job');
  const jobs = tenantDataFor(deps.stores, tenant).jobs;
  const job = await jobs.get(action.jobId);
  if (!job) throw new NotFoundError('Job');
  // The action's span is given on to what it sends: the API process has no active context to find it in.
  const parent = jobTraceContext(job);
  return inSpan(name, (span) => run(tenant, job, jobs, contextOfSpan(span, parent)), {
    parent,
    attributes: { 'silopool.operator': action.by },
  });
}

function requeue(jobs: Jobs, job: JobRecord, event: StoryEvent): Promise<JobRecord> {
  const { error: _error, finishedAt: _finished, announcedAt: _announced, ...rest } = job;
  const log = {
    at: event.at,
    level: 'info' as const,
    message: `job ${event.step}`,
    fields: { by: event.detail ?? '' },
  };
  // Its next finish bills only what runs from now: this finish was billed (core/usage.ts).
  return jobs.update(
    nextVersion(rest, { status: 'queued', ...storyWith(job, [event], [log]), ...requeuedBilling(job) }),
    job.version,
  );
}

/** A lost compare-and-set as the 409 the caller can act on. */
function lost(code: string, message: string) {
  return (error: unknown): never => {
    if (error instanceof ConditionFailedError) throw new ConflictError(message, code, { cause: error });
    throw error;
  };
}

/** The job's message, as a submit sends it, with a dedup id of this attempt (the job id alone is taken). */
async function send(queue: MessageQueue, tenant: Tenant, job: JobRecord, trace: Context): Promise<void> {
  await queue.send(
    laneFor(tenant, job.model).queue,
    withTraceContext<SendMessage>(
      {
        // The requeue's `billedBefore` rides along: a dedicated process's host bills against this copy.
        body: encodeJobMessage({
          tenantId: tenant.id,
          jobId: job.id,
          model: job.model,
          ...(job.billedBefore ? { billedBefore: job.billedBefore } : {}),
        }),
        groupId: tenant.id,
        dedupId: `${job.id}:${job.version}`,
        cost: job.cost,
        priority: job.priority,
      },
      trace,
    ),
  );
}

/**
 * Deletes this job's message from the dead-letter queues it can be in (its lane's now, and the shared one
 * it may have left in a promotion); the other dead letters seen are made visible again at once.
 */
async function deleteDeadLetter(queue: MessageQueue, tenant: Tenant, job: JobRecord): Promise<void> {
  const lanes = new Set([laneFor(tenant, job.model).queue, sharedQueueName(job.model)]);
  for (const lane of lanes) {
    const dlq = deadLetterQueueName(lane);
    const others: string[] = [];
    // Received messages stay invisible while the look lasts, so each batch is new; bounded for big queues.
    for (let seen = 0; seen < MAX_DEAD_LETTERS_SEARCHED; ) {
      const batch = await queue.receive(dlq, { maxMessages: 10, visibilityTimeoutSec: 30 }).catch(() => []);
      if (batch.length === 0) break;
      seen += batch.length;
      for (const message of batch) {
        if (decodeJobMessage(message.body)?.jobId === job.id) await queue.delete(dlq, message.receiptHandle);
        else others.push(message.receiptHandle);
      }
    }
    await Promise.all(others.map((handle) => queue.changeVisibility(dlq, handle, 0)));
  }
}

/** Dead letters looked at per queue for one job's message. */
const MAX_DEAD_LETTERS_SEARCHED = 1000;

/**
 * Who acted, as a story step records it: the tenant reads that an operator did; the operator's identity
 * (an email, a directory subject) is for operators only (`internal`, dropped from tenant views).
 */
function byOperator(action: JobAction): { detail: string; internal: string } {
  return { detail: 'by an operator', internal: `by ${action.by}` };
}
