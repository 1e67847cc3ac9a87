import { createHash } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { endAttempt, endUnseenAttempt, memorySizeOf, startAttempt } from '../core/attempt-time.ts';
import { ConditionFailedError } from '../core/errors.ts';
import { failureOf, MODEL_FAILURE } from '../core/failure.ts';
import { artifactKey, isTerminal, type JobRecord } from '../core/job.ts';
import { type JobLogEntry, type StoryEvent, startEvents, storyWith } from '../core/job-story.ts';
import { decodeJobMessage } from '../core/messages.ts';
import { laneStoreOf, type StoreRef } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { modelForJob } from '../models/model-selection.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import type { ModelDefinition } from '../models/types.ts';
import { traceDelivery } from '../observability/job-delivery.ts';
import { inSpan, inSpanEvent, withTraceContext } from '../observability/spans.ts';
import { nextVersion, type TenantJobStore } from '../ports/job-store.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import { type OutcomeCommit, stageOutcome, type TenantData } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { announcementsFor } from './announcements.ts';
import { partialBatchResponse } from './batch-response.ts';
import { checkFormatting, checkModelVersion, isModelError, PoisonMessageError } from './job-checks.ts';
import { progressReporter, type RunParts, runModel } from './job-progress.ts';
import { renderingOf } from './rendering.ts';
import { WEBHOOK_QUEUE } from './webhook-message.ts';

export const WORKBOOK = 'workbook.xlsx';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export interface HandlerDeps {
  /** Spreads big model runs over cores: the parts a model plans run here, in parallel. */
  parallel?: { cores: number; runParts: RunParts };
  /** Only `get`: on AWS the model functions read tenant views without secrets (adapters/aws/tenant-views.ts). */
  directory: Pick<TenantDirectory, 'get'>;
  /** For webhook notifications; absent where webhooks are sent another way. */
  queue?: Pick<MessageQueue, 'send'>;
  /** Finished jobs are also announced for user notifications (email, Web Push) on `system_notifications`. */
  notifications?: boolean;
  /** Called after every status change this handler commits (the local host relays it to SSE streams). */
  notify?(job: JobRecord): void;
  /** The queue's maximum receives: the last failing delivery marks the job failed before it is dead-lettered. */
  maxReceiveCount?: number;
  /**
   * The one way to a job's store: the tenant's data holding job `jobId`. `lane` is the store of the lane
   * the message came from (it holds the record; see `laneStoreOf`): a dedicated function never needs the
   * shared store, which its role cannot read. Embedded: `laneDataFor(stores)`; on AWS a tenant-scoped
   * session per message; in a dedicated process its own store.
   */
  dataFor(tenant: Tenant, jobId: JobRecord['id'], lane?: StoreRef): Promise<TenantData>;
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
  /** Releases (several model versions loaded at once); absent: the built-in models only. */
  releases?: ReleaseCatalog;
  /**
   * The memory (MB) of the function running this handler, as it knows it, read when a delivery starts its
   * attempt and recorded on the job (`JobRecord.memoryMb`): compute is billed at it. The shared pool's size
   * (function-thread.ts), a dedicated process's setting when it was started (function-process.ts), the
   * Lambda's `memoryLimitInMB` (entry/lambda-function.ts). Absent, or not a whole positive number: the
   * attempt is billed at the default function size.
   */
  memoryMb?(): number | undefined;
}

/** The attempt a delivery started: its number once its `running` commit is in. */
interface Attempt {
  number?: number;
}

/** One SQS record of a model queue: resolves when it is done with, throws when it must be delivered again. */
export type JobRecordHandler = (record: SQSRecord) => Promise<void>;

/**
 * The model function, per record: the local hosts and the Lambda entry build the batch response around it
 * (`partialBatchResponse`, Powertools' `processPartialResponse`).
 */
export function createJobHandler(deps: HandlerDeps): JobRecordHandler {
  const log = deps.log ?? (() => undefined);

  async function processRecord(record: SQSRecord): Promise<void> {
    const message = decodeJobMessage(record.body);
    if (!message) throw new PoisonMessageError(record.messageId);
    const tenant = await deps.directory.get(message.tenantId);
    if (!tenant) {
      log('warn', 'message for a tenant that no longer exists; dropped', { ...message });
      return;
    }
    const queue = record.eventSourceARN?.slice(record.eventSourceARN.lastIndexOf(':') + 1) ?? '';
    const data = await deps.dataFor(tenant, message.jobId, laneStoreOf(queue, tenant.id));
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
    const delivery = { tenantId: tenant.id, jobId: message.jobId, lane: queue };
    // The attempt this delivery started, once it has: its run time is this delivery's to record.
    const attempt: Attempt = {};
    await traceDelivery(record, delivery, async () => {
      try {
        await runJob(tenant, data, message.jobId, queue, attempt);
      } catch (error) {
        if (deps.maxReceiveCount !== undefined && receiveCount >= deps.maxReceiveCount) {
          await markExhausted(tenant, data.jobs, message.jobId, error, attempt).catch(() => undefined);
        } else await recordFailedAttempt(data.jobs, message.jobId, error, attempt).catch(() => undefined);
        throw error;
      }
    });
  }

  async function runJob(
    tenant: Tenant,
    data: TenantData,
    jobId: JobRecord['id'],
    lane: string,
    attempt: Attempt,
  ): Promise<void> {
    const found = await data.jobs.get(jobId);
    if (!found) {
      log('warn', 'message for a job that no longer exists; dropped', { tenantId: tenant.id, jobId });
      return;
    }
    if (isTerminal(found.status)) {
      // A redelivery after a crash between the final commit and the announcement: announce now.
      if (found.announcedAt === undefined) await announce(tenant, data.jobs, found);
      return;
    }
    const started = await commit(
      data.jobs,
      found,
      {
        status: 'running',
        // An attempt left open by a delivery that crashed is ended at its last evidence (core/attempt-time.ts);
        // this one runs at this function's memory.
        ...startAttempt(found, new Date().toISOString(), memorySizeOf(deps.memoryMb?.())),
        // A redriven job runs again: its next terminal status is announced anew.
        announcedAt: undefined,
      },
      (job) => startEvents(job, lane),
    );
    if (!started) return;
    attempt.number = started.attempts;
    const steps: StoryEvent[] = [];
    const step = (name: StoryEvent['step']) =>
      steps.push({ step: name, at: new Date().toISOString(), attempt: started.attempts });

    let outcome: Partial<JobRecord>;
    // The record's final write: with the workbook where the stores commit both at once (`stageOutcome`).
    let write: OutcomeCommit | undefined;
    // The version (and variant, and release) the job ran on, recorded with its outcome.
    let ran: Partial<JobRecord> = {};
    // A model's own error in its raw words: for operators (`internal`), never in the tenant's record.
    let modelFault: string | undefined;
    try {
      const laneKind = laneStoreOf(lane, tenant.id)?.kind === 'dedicated' ? 'dedicated' : 'shared';
      const selected = await modelForJob(deps.releases, tenant, started, laneKind);
      ran = selected.record;
      const model = selected.definition;
      const progress = progressFor(model, started, data.jobs);
      checkModelVersion(model, started);
      checkFormatting(tenant);
      const result = await inSpan('model.run', () =>
        runModel(deps.parallel, model, started, progress?.report),
      );
      progress?.stop();
      const formatting = tenant.config.formatting ?? {};
      step('rendering');
      const bytes = await inSpan('workbook.render', () =>
        model.workbook(
          result,
          started.effectiveInput as never,
          formatting,
          {
            jobId: started.id,
            tenantId: tenant.id,
            tenantName: tenant.name,
            model: model.name,
            modelVersion: model.version,
            created: started.createdAt,
          },
          started.rules,
        ),
      );
      const key = artifactKey(started.id, WORKBOOK);
      const sha256 = sha256Of(bytes);
      // In the outcome's commit where the stores share one (embedded), else put whole now (`stageOutcome`; S3
      // checks the SDK's CRC32 of the body): the record never points at a short or torn file, nor at none,
      // without reading the workbook back. Staged inside the attempt, as its measured run time counts the put.
      const artifacts = [{ key, body: bytes, contentType: XLSX }];
      write = data.writeOutcome
        ? await data.writeOutcome(artifacts)
        : await inSpan('objects.put', () => stageOutcome(data, artifacts));
      step('stored');
      outcome = {
        ...ran,
        status: 'succeeded',
        summary: model.summary(result, started.rules),
        rendering: renderingOf(formatting, model.version, started.rules, tenant.name),
        ...(model.series ? { series: model.series(result) } : {}),
        artifacts: [
          {
            name: WORKBOOK,
            contentType: XLSX,
            size: bytes.byteLength,
            sha256,
            key,
          },
        ],
      };
    } catch (error) {
      if (!isModelError(error)) throw error;
      // The model rejected its input: running it again gives the same answer, so fail now, never retry.
      const { internal, ...failure } = failureOf(error, MODEL_FAILURE);
      outcome = { ...ran, status: 'failed', error: failure };
      if (internal !== undefined) modelFault = internal;
    }
    await completeJob(tenant, data.jobs, started, outcome, steps, modelFault, write);
  }

  /**
   * The job's final step: its terminal status committed (compare-and-set), then announced. Every run that
   * reaches an outcome ends here, so a hook on a finished job (usage, traces) belongs in this function.
   */
  async function completeJob(
    tenant: Tenant,
    jobs: TenantJobStore,
    started: JobRecord,
    outcome: Partial<JobRecord>,
    steps: StoryEvent[],
    internal: string | undefined,
    write?: OutcomeCommit,
  ): Promise<void> {
    const finishedAt = new Date().toISOString();
    // This attempt's measured run time, billed as compute (core/attempt-time.ts).
    const ran = endAttempt(started, Date.parse(finishedAt));
    const end: StoryEvent = {
      step: outcome.status === 'succeeded' ? 'succeeded' : 'failed',
      at: finishedAt,
      attempt: started.attempts,
      ...(outcome.error ? { detail: `${outcome.error.code}: ${outcome.error.message}` } : {}),
      ...(internal !== undefined ? { internal } : {}),
    };
    const logs: JobLogEntry[] = [
      outcome.error
        ? { at: finishedAt, level: 'warn', message: 'job failed', fields: { code: outcome.error.code } }
        : { at: finishedAt, level: 'info', message: 'job succeeded', fields: { attempt: started.attempts } },
    ];
    const patch = { ...outcome, ...ran, finishedAt };
    const finished = await commit(jobs, started, patch, () => [...steps, end], logs, write);
    if (finished) await announce(tenant, jobs, finished);
  }

  /** The progress reporter of a run worth reporting on (a model that counts units, an input with some). */
  function progressFor(model: ModelDefinition | undefined, job: JobRecord, jobs: TenantJobStore) {
    if (!model?.progress || !(model.progress.total(job.effectiveInput) > 0)) return undefined;
    return progressReporter({
      jobs,
      job,
      unit: model.progress.unit,
      notify: deps.notify,
      onError: (error) => log('warn', 'progress not recorded', { jobId: job.id, error: String(error) }),
    });
  }

  /**
   * Compare-and-set, with the story steps the change makes (computed from the record it applies to, so a
   * retried write records them once); undefined when another delivery of the same job moved it on first.
   */
  async function commit(
    jobs: TenantJobStore,
    job: JobRecord,
    patch: Partial<JobRecord>,
    events: (job: JobRecord) => StoryEvent[] = () => [],
    logs: JobLogEntry[] = [],
    write: (next: JobRecord, expected: number) => Promise<JobRecord> = (next, expected) =>
      jobs.update(next, expected),
  ): Promise<JobRecord | undefined> {
    try {
      const next = nextVersion(job, { ...patch, ...storyWith(job, events(job), logs) });
      // An event on the delivery's span, not a span: the story already has the status changes.
      const stored = await inSpanEvent('jobstore.update', () => write(next, job.version), {
        'silopool.status': next.status,
      });
      deps.notify?.(stored);
      return stored;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      const current = await jobs.get(job.id);
      // A cancel or a newer delivery won the race; the newer delivery may take a running job over.
      if (!current || isTerminal(current.status) || patch.status !== 'running') return undefined;
      const at = patch.startedAt ?? new Date().toISOString();
      return commit(jobs, current, { ...patch, ...startAttempt(current, at, patch.memoryMb) }, events, logs);
    }
  }

  /**
   * A delivery that threw (not the last one): the story says so, and the attempt's run time is recorded
   * when it is still this delivery's (one taken over is the newer delivery's to end); the message is retried.
   */
  async function recordFailedAttempt(
    jobs: TenantJobStore,
    jobId: JobRecord['id'],
    cause: unknown,
    attempt: Attempt,
  ) {
    const job = await jobs.get(jobId);
    if (job?.status !== 'running') return;
    const at = new Date().toISOString();
    const ran = job.attempts === attempt.number ? endAttempt(job, Date.parse(at)) : {};
    // The tenant reads its job's story: the raw cause only under `internal`, which tenant views drop.
    const { code, message, internal } = failureOf(cause);
    const raw = internal !== undefined ? { internal } : {};
    const patch = storyWith(
      job,
      [{ step: 'attempt_failed', at, attempt: job.attempts, detail: `${code}: ${message}`, ...raw }],
      [{ at, level: 'error', message: 'attempt failed; it will be retried', fields: { code }, ...raw }],
    );
    await jobs.update(nextVersion(job, { ...patch, ...ran }), job.version);
  }

  /**
   * The last delivery threw: the job fails. Its attempt's run time is this delivery's measure when the
   * attempt is its own, else (another delivery's, whose end nobody saw) up to that attempt's last evidence.
   */
  async function markExhausted(
    tenant: Tenant,
    jobs: TenantJobStore,
    jobId: JobRecord['id'],
    cause: unknown,
    attempt: Attempt,
  ): Promise<void> {
    const job = await jobs.get(jobId);
    if (!job || isTerminal(job.status)) return;
    const at = new Date().toISOString();
    const atMs = Date.parse(at);
    const ran = job.attempts === attempt.number ? endAttempt(job, atMs) : endUnseenAttempt(job, atMs);
    const failure = failureOf(cause);
    const raw = failure.internal !== undefined ? { internal: failure.internal } : {};
    const message = `The job failed on every attempt (${failure.code}): ${failure.message}`;
    const failed = await jobs.update(
      nextVersion(job, {
        status: 'failed',
        finishedAt: at,
        ...ran,
        error: { code: 'retries_exhausted', message },
        ...storyWith(
          job,
          [{ step: 'failed', at, attempt: job.attempts, detail: `retries_exhausted: ${message}`, ...raw }],
          [{ at, level: 'error', message: 'retries exhausted', fields: { attempts: job.attempts }, ...raw }],
        ),
      }),
      job.version,
    );
    deps.notify?.(failed);
    await announce(tenant, jobs, failed);
  }

  /**
   * The notification outbox on single-item writes (DynamoDB and SQS have no transaction spanning both):
   * the message is sent, then the job is marked announced. A crash between the final commit and the mark
   * leaves the job terminal and unmarked, and the model message is redelivered (it is deleted only after
   * the handler returns), which announces again. A send twice carries the same dedup id and the same
   * webhook-id, so a receiver sees one notification, or at worst a duplicate with the same webhook-id.
   */
  async function announce(tenant: Tenant, jobs: TenantJobStore, job: JobRecord): Promise<void> {
    const messages = announcementsFor(tenant, job, deps);
    if (messages.length === 0 || !deps.queue) return;
    for (const { queue, message } of messages)
      await inSpan(queue === WEBHOOK_QUEUE ? 'notify.webhook' : 'notify.users', () =>
        deps.queue!.send(queue, withTraceContext(message)),
      );
    try {
      const at = new Date().toISOString();
      const what = messages.map((m) => (m.queue === WEBHOOK_QUEUE ? 'webhook' : 'user notifications'));
      const notified = storyWith(job, [{ step: 'notified', at, detail: `${what.join(' and ')} queued` }]);
      await jobs.update(nextVersion(job, { announcedAt: at, ...notified }), job.version);
    } catch (error) {
      // Another delivery marked it (or a redrive moved it on) first: the announcement is out either way.
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }

  return async (record) => {
    try {
      await processRecord(record);
    } catch (error) {
      log('error', 'record failed; it will be retried', {
        messageId: record.messageId,
        error: String(error),
      });
      throw error;
    }
  };
}

/** The model function with the AWS Lambda SQS batch signature, built around the per-record handler. */
export function createModelHandler(deps: HandlerDeps) {
  const handle = createJobHandler(deps);
  return (event: SQSEvent): Promise<SQSBatchResponse> => partialBatchResponse(event, handle);
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
