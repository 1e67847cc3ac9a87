import { ConditionFailedError, ConflictError } from '../core/errors.ts';
import { newJobId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { encodeJobMessage } from '../core/messages.ts';
import { laneFor } from '../core/placement.ts';
import { hashRequest } from '../core/request-hash.ts';
import type { Tenant } from '../core/tenant.ts';
import { modelForSubmit } from '../models/model-selection.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import { resolveInput } from '../models/rules.ts';
import { tenantRules } from '../models/tenant-rules.ts';
import type { ModelWarning } from '../models/types.ts';
import type { JobIntake, JobSubmission } from '../ports/job-intake.ts';
import type { SendMessage } from '../ports/message-queue.ts';
import type { TenantData } from '../ports/stores.ts';
import { admitJobCost } from './admission.ts';

export interface SubmitRequest {
  tenant: Tenant;
  data: TenantData;
  model: string;
  input: unknown;
  priority?: number;
  idempotencyKey?: string;
  /** Releases: the tenant's pinned version, or its variant, is chosen here (`modelForSubmit`). */
  releases?: ReleaseCatalog;
  /**
   * What `modelForSubmit(releases, tenant, model)` returned, when the caller already asked it (the API
   * does, to answer 404 before it looks at the body): not asked twice (each asks the release pointer).
   */
  chosen?: ChosenModel;
}

/** A model chosen for a submit: `modelForSubmit`'s answer. */
export type ChosenModel = Awaited<ReturnType<typeof modelForSubmit>>;

export interface SubmitResult {
  job: JobRecord;
  /** False when an Idempotency-Key replay returned an earlier job. */
  created: boolean;
  /** The model's plausibility warnings on the input (a rate typed as percent); the job runs regardless. */
  warnings: ModelWarning[];
}

/**
 * The submit use case: validates the input against the tenant's rules, admits its cost, and hands the job
 * and its message to the intake, which makes both durable before this resolves (so the API answers 202
 * only then: an accepted job is never lost). An Idempotency-Key replay returns the earlier job (re-queueing
 * its message if it may have been lost); the same key with another body is a ConflictError. Throws
 * NotFoundError (model), ValidationError (input), a cost-limit error, or UnavailableError (not queued).
 */
export async function submitJob(intake: JobIntake, request: SubmitRequest): Promise<SubmitResult> {
  const { tenant, data } = request;
  const chosen = request.chosen ?? (await modelForSubmit(request.releases, tenant, request.model));
  const model = chosen.definition;
  const rules = tenantRules(model, tenant.config);
  const { effectiveInput } = resolveInput(model, rules, request.input);
  const cost = admitJobCost(tenant, model, effectiveInput);
  const warnings = model.advise?.(effectiveInput as never) ?? [];
  const requestHash =
    request.idempotencyKey === undefined
      ? undefined
      : hashRequest(chosen.variant ?? model.name, request.input);

  let jobId = newJobId();
  // At most twice: a second round only finishes a job whose key an earlier attempt bound to its id.
  for (let round = 0; ; round++) {
    const now = new Date().toISOString();
    const job: JobRecord = {
      id: jobId,
      tenantId: tenant.id,
      model: model.name,
      modelVersion: chosen.version,
      ...(chosen.variant ? { modelVariant: chosen.variant } : {}),
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
    const submission: JobSubmission = {
      job,
      ...(request.idempotencyKey !== undefined && requestHash !== undefined
        ? { idempotency: { key: request.idempotencyKey, requestHash, jobId, createdAt: now } }
        : {}),
      queue: laneFor(tenant, job.model).queue,
      message: jobMessage(tenant, job),
    };
    const outcome = await intake.submit(tenant, submission);
    if (outcome.kind === 'created') return { job, created: true, warnings };
    if (outcome.kind === 'job-exists') {
      const raced = await data.jobs.get(jobId);
      if (raced) return { job: raced, created: false, warnings };
      throw new ConditionFailedError(`Job ${jobId} exists but could not be read back.`);
    }
    const { existing } = outcome;
    if (existing.requestHash !== requestHash) {
      throw new ConflictError(
        'This Idempotency-Key was used with a different request body; use a new key for a new job.',
        'idempotency_key_reused',
      );
    }
    const earlier = await data.jobs.get(existing.jobId);
    if (earlier) {
      // The earlier attempt may have died between its record and its message (the client never got 202
      // and retries): queue it again. Same dedup id, so a message that did go out is not doubled.
      if (earlier.status === 'queued') {
        await intake.requeue(tenant, laneFor(tenant, earlier.model).queue, jobMessage(tenant, earlier));
      }
      return { job: earlier, created: false, warnings };
    }
    // The earlier attempt claimed the key but died before creating its job: finish it under that id.
    if (round > 0) throw new ConditionFailedError(`Idempotency-Key bound to job ${existing.jobId} twice.`);
    jobId = existing.jobId;
  }
}

/** A job's message to its tenant's lane: the job id is the dedup id, the tenant the fairness group. */
function jobMessage(tenant: Tenant, job: JobRecord): SendMessage {
  return {
    body: encodeJobMessage({ tenantId: tenant.id, jobId: job.id, model: job.model }),
    groupId: tenant.id,
    dedupId: job.id,
    cost: job.cost,
    priority: job.priority,
  };
}
