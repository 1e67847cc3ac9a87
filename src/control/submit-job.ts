import { ConditionFailedError, ConflictError, NotFoundError, UnavailableError } from '../core/errors.ts';
import { newJobId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { encodeJobMessage } from '../core/messages.ts';
import { laneFor } from '../core/placement.ts';
import { hashRequest } from '../core/request-hash.ts';
import type { Tenant } from '../core/tenant.ts';
import { getModel } from '../models/registry.ts';
import { resolveInput } from '../models/rules.ts';
import { tenantRules } from '../models/tenant-rules.ts';
import type { ModelWarning } from '../models/types.ts';
import { nextVersion } from '../ports/job-store.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { TenantData } from '../ports/stores.ts';
import { admitJobCost } from './admission.ts';

export interface SubmitRequest {
  tenant: Tenant;
  data: TenantData;
  model: string;
  input: unknown;
  priority?: number;
  idempotencyKey?: string;
}

export interface SubmitResult {
  job: JobRecord;
  /** False when an Idempotency-Key replay returned an earlier job. */
  created: boolean;
  /** The model's plausibility warnings on the input (a rate typed as percent); the job runs regardless. */
  warnings: ModelWarning[];
}

/**
 * Validates, records and enqueues a job. The job is created before its message is sent and the caller
 * answers 202 only after both are committed, so an accepted job is never lost.
 */
export async function submitJob(queue: MessageQueue, request: SubmitRequest): Promise<SubmitResult> {
  const { tenant, data } = request;
  const model = getModel(request.model);
  if (!model) throw new NotFoundError(`Model "${request.model}"`);
  const rules = tenantRules(model, tenant.config);
  const { effectiveInput } = resolveInput(model, rules, request.input);
  const cost = admitJobCost(tenant, model, effectiveInput);
  const warnings = model.advise?.(effectiveInput as never) ?? [];

  let jobId = newJobId();
  if (request.idempotencyKey !== undefined) {
    const requestHash = hashRequest(model.name, request.input);
    const existing = await data.jobs.claimIdempotencyKey({
      key: request.idempotencyKey,
      requestHash,
      jobId,
      createdAt: new Date().toISOString(),
    });
    if (existing) {
      if (existing.requestHash !== requestHash) {
        throw new ConflictError(
          'This Idempotency-Key was used with a different request body; use a new key for a new job.',
          'idempotency_key_reused',
        );
      }
      const earlier = await data.jobs.get(existing.jobId);
      if (earlier) {
        // The earlier attempt may have died between its record and its message (the client never got
        // 202 and retries): send it again. Same dedup id, so a message that did go out is not doubled.
        if (earlier.status === 'queued') await enqueue(queue, tenant, earlier);
        return { job: earlier, created: false, warnings };
      }
      // The earlier attempt claimed the key but crashed before creating the job: finish it now.
      jobId = existing.jobId;
    }
  }

  const now = new Date().toISOString();
  const job: JobRecord = {
    id: jobId,
    tenantId: tenant.id,
    model: model.name,
    modelVersion: model.version,
    status: 'queued',
    input: request.input,
    effectiveInput,
    rules,
    ...(warnings.length > 0 ? { warnings } : {}),
    artifacts: [],
    attempts: 0,
    cost,
    priority: request.priority ?? 0,
    ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  try {
    await data.jobs.create(job);
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    const raced = await data.jobs.get(jobId);
    if (raced) return { job: raced, created: false, warnings };
    throw error;
  }

  try {
    await enqueue(queue, tenant, job);
  } catch (error) {
    // Not accepted: the record and its key go, so a retry (with the same Idempotency-Key too) starts
    // afresh. If the store fails as well, the record is marked failed rather than left queued forever.
    const removed = await (async () => {
      await data.jobs.delete(job.id);
      if (job.idempotencyKey !== undefined) await data.jobs.deleteIdempotencyKey(job.idempotencyKey);
      return true;
    })().catch(() => false);
    if (!removed) {
      await data.jobs
        .update(
          nextVersion(job, {
            status: 'failed',
            error: { code: 'enqueue_failed', message: 'The job could not be queued.' },
          }),
          job.version,
        )
        .catch(() => undefined);
    }
    throw new UnavailableError('The job could not be queued; try again.', { cause: error });
  }
  return { job, created: true, warnings };
}

/** Sends a job's message to its tenant's lane; the job id is the dedup id. */
async function enqueue(queue: MessageQueue, tenant: Tenant, job: JobRecord): Promise<void> {
  await queue.send(laneFor(tenant, job.model).queue, {
    body: encodeJobMessage({ tenantId: tenant.id, jobId: job.id, model: job.model }),
    groupId: tenant.id,
    dedupId: job.id,
    cost: job.cost,
    priority: job.priority,
  });
}
