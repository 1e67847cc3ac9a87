import type { JobRecord } from '../core/job.ts';
import type { Tenant } from '../core/tenant.ts';
import type { IdempotencyRecord } from './job-store.ts';
import type { SendMessage } from './message-queue.ts';

/** What one submit writes: the job, the key it is bound to (if any) and the message that runs it. */
export interface JobSubmission {
  /** The new job: status `queued`, version 1, `tenantId` the submitting tenant. */
  job: JobRecord;
  /** The Idempotency-Key claim, bound to `job.id`; absent when the request named no key. */
  idempotency?: IdempotencyRecord;
  /** The lane queue the message goes to (`laneFor(tenant, model).queue`, at send time). */
  queue: string;
  /** The job's message, attributes (trace context) included; its dedup id is the job id. */
  message: SendMessage;
}

/**
 * - `created`: the job, its key and its message are committed (the message may reach its queue a moment
 *   later, but nothing can lose it any more: "accepted means durable").
 * - `key-taken`: the key is bound to another job id; nothing was written.
 * - `job-exists`: a job with this id exists already (a concurrent retry of the same submit); nothing was written.
 */
export type SubmitOutcome =
  | { kind: 'created' }
  | { kind: 'key-taken'; existing: IdempotencyRecord }
  | { kind: 'job-exists' };

/**
 * How a submit becomes durable: the job record and its message committed together where one commit can
 * hold both (the embedded adapter: one SQLite transaction with an outbox row, concurrent submits grouped),
 * or in a documented sequence with recovery where it cannot (`createSequencedJobIntake`: DynamoDB, then SQS).
 */
export interface JobIntake {
  /**
   * Records `submission` for `tenant` (whose placement says where its records live now). Resolves once it
   * is durable. Throws ForbiddenError when the job belongs to another tenant, UnavailableError when it
   * could not be queued (nothing of it is left queued then).
   */
  submit(tenant: Tenant, submission: JobSubmission): Promise<SubmitOutcome>;
  /**
   * Makes sure the message of a job that is still `queued` is on its queue, for a retry of a submit whose
   * first attempt may have died between its record and its message. Same dedup id (the job id): a message
   * that did go out is not doubled within the dedup window.
   */
  requeue(tenant: Tenant, queue: string, message: SendMessage): Promise<void>;
}
