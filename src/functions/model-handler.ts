import { createHash } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  ConditionFailedError,
  CorruptWriteError,
  ModelVersionUnavailableError,
  SilopoolError,
  TenantSettingsError,
} from '../core/errors.ts';
import { artifactKey, isTerminal, type JobRecord, majorVersion } from '../core/job.ts';
import { decodeJobMessage } from '../core/messages.ts';
import { isHomeLane, laneStoreOf, type StoreRef } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { listModels } from '../models/registry.ts';
import { isBuiltin, modelForJob, type ReleaseCatalog } from '../models/releases.ts';
import type { ModelDefinition } from '../models/types.ts';
import { formattingProblems } from '../models/xlsx/formatting-checks.ts';
import { nextVersion, type TenantJobStore } from '../ports/job-store.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import { jobDataFor } from '../ports/placement-data.ts';
import { type StoreProvider, type TenantData, tenantDataAt } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { renderingOf } from './rendering.ts';
import { WEBHOOK_QUEUE, webhookMessageFor } from './webhook-message.ts';

export const WORKBOOK = 'workbook.xlsx';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export interface HandlerDeps {
  /** Spreads big model runs over cores: the parts a model plans run here, in parallel. */
  parallel?: { cores: number; runParts(model: string, input: unknown, parts: unknown[]): Promise<unknown[]> };
  /** Only `get`: on AWS the model functions read tenant views without secrets (adapters/aws/tenant-views.ts). */
  directory: Pick<TenantDirectory, 'get'>;
  stores: StoreProvider;
  /** For webhook notifications; absent where webhooks are sent another way. */
  queue?: MessageQueue;
  /** Called after every status change this handler commits (the local host relays it to SSE streams). */
  notify?(job: JobRecord): void;
  /** The queue's maximum receives: the last failing delivery marks the job failed before it is dead-lettered. */
  maxReceiveCount?: number;
  /**
   * Where the tenant's data is reached; on AWS a tenant-scoped session per message. `lane` is the store
   * of the lane the message came from (it holds the record; see `laneStoreOf`): a dedicated function
   * never needs the shared store, which its role cannot read.
   */
  dataFor?(tenant: Tenant, jobId: JobRecord['id'], lane?: StoreRef): Promise<TenantData>;
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
  /** Releases (several model versions loaded at once); absent: the built-in models only. */
  releases?: ReleaseCatalog;
}

/** The model function, with the AWS Lambda SQS signature; the local host builds the same events. */
export function createModelHandler(deps: HandlerDeps) {
  const log = deps.log ?? (() => undefined);
  // During a placement move a job's record is in the source or the target store: use the one holding it.
  const dataFor = async (tenant: Tenant, jobId: JobRecord['id'], lane: StoreRef | undefined) => {
    if (deps.dataFor) return deps.dataFor(tenant, jobId, lane);
    if (lane) {
      const data = tenantDataAt(deps.stores, lane, tenant.id);
      // Outside a move the lane is the tenant's home: no lookup needed.
      if (isHomeLane(tenant, lane) || (await data.jobs.get(jobId))) return data;
    }
    return jobDataFor(deps.stores, tenant, jobId);
  };

  async function processRecord(record: SQSRecord): Promise<void> {
    const message = decodeJobMessage(record.body);
    if (!message) throw new PoisonMessageError(record.messageId);
    const tenant = await deps.directory.get(message.tenantId);
    if (!tenant) {
      log('warn', 'message for a tenant that no longer exists; dropped', { ...message });
      return;
    }
    const queue = record.eventSourceARN?.slice(record.eventSourceARN.lastIndexOf(':') + 1) ?? '';
    const lane = laneStoreOf(queue, tenant.id);
    const data = await dataFor(tenant, message.jobId, lane);
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
    try {
      await runJob(tenant, data, message.jobId, lane?.kind === 'dedicated' ? 'dedicated' : 'shared');
    } catch (error) {
      if (deps.maxReceiveCount !== undefined && receiveCount >= deps.maxReceiveCount) {
        await markExhausted(tenant, data.jobs, message.jobId, error).catch(() => undefined);
      }
      throw error;
    }
  }

  async function runJob(
    tenant: Tenant,
    data: TenantData,
    jobId: JobRecord['id'],
    lane: 'shared' | 'dedicated',
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
    const started = await commit(data.jobs, found, {
      status: 'running',
      attempts: found.attempts + 1,
      startedAt: new Date().toISOString(),
      // A redriven job runs again: its next terminal status is announced anew.
      announcedAt: undefined,
    });
    if (!started) return;

    let outcome: Partial<JobRecord>;
    // The version (and variant, and release) the job ran on, recorded with its outcome.
    let ran: Partial<JobRecord> = {};
    try {
      const selected = await modelForJob(deps.releases, tenant, started, lane);
      ran = selected.record;
      const model = selected.definition;
      checkModelVersion(model, started);
      checkFormatting(tenant);
      const result = await runModel(model, started);
      const formatting = tenant.config.formatting ?? {};
      const bytes = await model.workbook(result, started.effectiveInput as never, formatting, {
        jobId: started.id,
        tenantId: tenant.id,
        tenantName: tenant.name,
        model: model.name,
        modelVersion: model.version,
        created: started.createdAt,
      });
      const key = artifactKey(started.id, WORKBOOK);
      const sha256 = sha256Of(bytes);
      await data.objects.put(key, bytes, XLSX);
      // Read back before the record says `succeeded`: a record never points at a short or torn file.
      const stored = await data.objects.get(key);
      if (!stored || sha256Of(stored.body) !== sha256) {
        throw new CorruptWriteError(
          `The stored ${WORKBOOK} of job ${started.id} does not match what was written.`,
        );
      }
      outcome = {
        ...ran,
        status: 'succeeded',
        summary: model.summary(result, started.rules),
        rendering: renderingOf(formatting, model.version),
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
      outcome = {
        ...ran,
        status: 'failed',
        error: { code: errorCode(error), message: (error as Error).message },
      };
    }
    const finished = await commit(data.jobs, started, { ...outcome, finishedAt: new Date().toISOString() });
    if (finished) await announce(tenant, data.jobs, finished);
  }

  async function runModel(model: ModelDefinition, job: JobRecord): Promise<unknown> {
    // The compute pool runs parts with the built-in models: a release's own code runs whole, here.
    const spread = deps.parallel && model.parallel && isBuiltin(model);
    const plan = spread ? (model.parallel?.plan(job.effectiveInput, deps.parallel?.cores ?? 1) ?? []) : [];
    if (!deps.parallel || !model.parallel || plan.length < 2) return model.run(job.effectiveInput, job.rules);
    const parts = await deps.parallel.runParts(model.name, job.effectiveInput, plan);
    return model.parallel.combine(job.effectiveInput, job.rules, parts);
  }

  /** Compare-and-set; undefined when another delivery of the same job moved it on first. */
  async function commit(
    jobs: TenantJobStore,
    job: JobRecord,
    patch: Partial<JobRecord>,
  ): Promise<JobRecord | undefined> {
    try {
      const stored = await jobs.update(nextVersion(job, patch), job.version);
      deps.notify?.(stored);
      return stored;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
      const current = await jobs.get(job.id);
      // A cancel or a newer delivery won the race; the newer delivery may take a running job over.
      if (!current || isTerminal(current.status) || patch.status !== 'running') return undefined;
      return commit(jobs, current, { ...patch, attempts: current.attempts + 1 });
    }
  }

  async function markExhausted(
    tenant: Tenant,
    jobs: TenantJobStore,
    jobId: JobRecord['id'],
    cause: unknown,
  ): Promise<void> {
    const job = await jobs.get(jobId);
    if (!job || isTerminal(job.status)) return;
    const failed = await jobs.update(
      nextVersion(job, {
        status: 'failed',
        finishedAt: new Date().toISOString(),
        error: {
          code: 'retries_exhausted',
          message: `The job failed on every attempt: ${String((cause as Error)?.message ?? cause)}`,
        },
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
    if (job.status !== 'succeeded' && job.status !== 'failed') return;
    if (!tenant.config.webhook || !deps.queue) return;
    await deps.queue.send(WEBHOOK_QUEUE, webhookMessageFor(job));
    try {
      await jobs.update(nextVersion(job, { announcedAt: new Date().toISOString() }), job.version);
    } catch (error) {
      // Another delivery marked it (or a redrive moved it on) first: the announcement is out either way.
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }

  return async function handler(event: SQSEvent, _context?: Context): Promise<SQSBatchResponse> {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      try {
        await processRecord(record);
      } catch (error) {
        log('error', 'record failed; it will be retried', {
          messageId: record.messageId,
          error: String(error),
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}

export class PoisonMessageError extends SilopoolError {
  constructor(messageId: string) {
    super('poison_message', 400, `Message ${messageId} is not a job message.`);
  }
}

/** The job's recorded major version must be the one installed: another major may give other numbers. */
function checkModelVersion(model: ModelDefinition, job: JobRecord): void {
  if (majorVersion(job.modelVersion) !== majorVersion(model.version)) {
    throw new ModelVersionUnavailableError(model.name, job.modelVersion, model.version);
  }
}

/** Stored formatting that fails the settings schema is not used: the job fails saying which field and why. */
function checkFormatting(tenant: Tenant): void {
  const problems = formattingProblems(
    tenant.config?.formatting ?? {},
    listModels().map((m) => m.sheetNames),
  );
  if (problems.length > 0) {
    throw new TenantSettingsError(
      tenant.id,
      problems.map((p) => ({ ...p, path: `/config/formatting${p.path}` })),
    );
  }
}

/** Errors that come from the model, its input or the job's record, not from the platform: retrying cannot help. */
function isModelError(error: unknown): boolean {
  if (error instanceof TenantSettingsError) return true;
  if (error instanceof SilopoolError) return error.status >= 400 && error.status < 500;
  return error instanceof RangeError || error instanceof TypeError;
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function errorCode(error: unknown): string {
  return error instanceof SilopoolError ? error.code : 'model_error';
}
