import type { JobId, TenantId } from '../core/ids.ts';
import { type JobProgress, type JobRecord, type JobStatus, nextJobVersion } from '../core/job.ts';

/**
 * The page cursor list name of a tenant's job list (core/page-cursor.ts), alike on every adapter: a cursor
 * of one tenant's list is refused by another's, though it could only ever bound a query of the latter's own.
 */
export function jobListOf(tenantId: string): string {
  return `jobs/${tenantId}`;
}

export interface ListJobsQuery {
  status?: JobStatus;
  model?: string;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface JobPage {
  items: JobRecord[];
  nextCursor?: string;
}

export interface IdempotencyRecord {
  key: string;
  requestHash: string;
  jobId: JobId;
  createdAt: string;
}

/**
 * One tenant's jobs. Every method is scoped to `tenantId`; there is no way to name another tenant's item.
 * Writes are single-item and conditional, as on DynamoDB.
 */
export interface TenantJobStore {
  readonly tenantId: TenantId;
  /** Creates the job; throws ConditionFailedError when a job with that id exists. */
  create(job: JobRecord): Promise<void>;
  get(id: JobId): Promise<JobRecord | undefined>;
  /**
   * Compare-and-set: writes `next` (with version = expectedVersion + 1) only if the stored version is
   * `expectedVersion`; throws ConditionFailedError otherwise. Returns the stored record.
   */
  update(next: JobRecord, expectedVersion: number): Promise<JobRecord>;
  /**
   * Sets the progress of a running job, only while it is `running` at `version` (the delivery that runs
   * it): a progress report never changes the version, so it never fails the runner's compare-and-set, and
   * a late report never lands on a finished job. Returns whether it was written.
   */
  recordProgress(id: JobId, version: number, progress: JobProgress): Promise<boolean>;
  /** Newest first. */
  list(query: ListJobsQuery): Promise<JobPage>;
  delete(id: JobId): Promise<void>;
  /** Stores the key if absent and returns undefined; returns the existing record if the key was taken. */
  claimIdempotencyKey(record: IdempotencyRecord): Promise<IdempotencyRecord | undefined>;
  deleteIdempotencyKey(key: string): Promise<void>;
  /** Number of items (jobs and idempotency keys) stored for this tenant: for verifying moves and offboarding. */
  countItems(): Promise<number>;
  /**
   * The tenant's jobs waiting to run (status `queued`), counting at most `upTo`: admission's queued-jobs
   * cap where the queue cannot count by tenant (a shared SQS queue).
   */
  countQueued(upTo: number): Promise<number>;
}

export interface JobStore {
  forTenant(tenantId: TenantId): TenantJobStore;
}

/**
 * A compare-and-set update computed from the current record; retried on a lost race by callers that want
 * to. Status changes follow the job state machine (`nextJobVersion`; throws InvalidTransitionError).
 */
export const nextVersion = nextJobVersion;
