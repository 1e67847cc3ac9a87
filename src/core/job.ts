import { ConflictError } from './errors.ts';
import type { JobId, TenantId } from './ids.ts';
import type { ModelRules } from './tenant.ts';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface Artifact {
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Object key relative to the tenant's root; deterministic per job and name. */
  key: string;
}

export interface JobError {
  code: string;
  message: string;
}

export interface JobRecord {
  id: JobId;
  tenantId: TenantId;
  model: string;
  modelVersion: string;
  status: JobStatus;
  /** What the user sent. */
  input: unknown;
  /** The input after the tenant's rules (defaults, fixed values) were applied: what the model ran on. */
  effectiveInput: unknown;
  rules: ModelRules;
  summary?: Record<string, unknown>;
  /** Chart data (free cash flow by year, a fund's J-curve). */
  series?: Record<string, { label: string | number; value: number }[]>;
  artifacts: Artifact[];
  error?: JobError;
  /** Deliveries that started running this job; more than one means a retry after a crash or timeout. */
  attempts: number;
  /** Fair-scheduling cost units (a big simulation counts for more than a small DCF). */
  cost: number;
  priority: number;
  idempotencyKey?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /**
   * When the terminal status was put on the webhook queue: the outbox mark. Set after the send (so a crash
   * between the two re-announces, never loses); cleared when the job runs again (a redrive).
   */
  announcedAt?: string;
  /** Incremented on every write; status changes are compare-and-set on it. */
  version: number;
}

const ALLOWED: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['running', 'cancelled', 'failed'],
  // running → running is a redelivery taking over after a crash or visibility timeout.
  running: ['running', 'succeeded', 'failed'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED[from].includes(to);
}

export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) {
    throw new ConflictError(`A ${from} job cannot become ${to}.`, 'invalid_transition');
  }
}

/** The object key of a job's artifact: the same for every delivery of the job, so a retry overwrites, never adds. */
export function artifactKey(jobId: JobId, name: string): string {
  return `jobs/${jobId}/${name}`;
}
