import { InvalidTransitionError } from './errors.ts';
import type { JobId, TenantId } from './ids.ts';
import type { JobStory } from './job-story.ts';
import type { Formatting, ModelRules } from './tenant.ts';

/** What a requeued job's finishes before were billed: the attempts they counted, their MB·ms (`JobRecord.billedBefore`). */
export interface BilledBefore {
  attempts: number;
  computeMbMs: number;
}

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

/** A model's warning about a valid input or result (see ModelWarning): the job runs regardless. */
export interface JobWarning {
  code: string;
  message: string;
  /** The input field it is about, as a JSON pointer (`/input/discountRate`). */
  path?: string;
  /** The result figure it is about (`enterpriseValue`). */
  figure?: string;
}

export interface JobError {
  code: string;
  message: string;
}

/**
 * What a job's workbook was rendered with, so it can be explained or rendered again later: the tenant's
 * formatting at the time (the logo by its SHA-256: its bytes can be large), the SHA-256 of that whole
 * formatting as canonical JSON, the model version that ran, the tenant's rules for the model that shaped
 * the workbook's data validation and locked cells (`ModelDefinition.workbook`'s `rules`; a tenant's rules
 * change, a rendered workbook does not) with their SHA-256 as canonical JSON, and the tenant name written
 * as the workbook's Company.
 */
export interface Rendering {
  formatting: Omit<Formatting, 'logoPng'> & { logoPngSha256?: string };
  formattingSha256: string;
  modelVersion: string;
  /** Absent on a job rendered before these were recorded (its top-level `rules` are the same rules). */
  rules?: ModelRules;
  rulesSha256?: string;
  tenantName?: string;
}

/** How far a running model got: `done` of `total` units (Monte Carlo paths, periods). */
export interface JobProgress {
  done: number;
  total: number;
  unit: string;
  /**
   * When the function recorded it (ISO 8601): the last evidence of the attempt running, billed up to when the
   * attempt's end is never seen (src/core/attempt-time.ts). Absent on progress written before it was recorded.
   */
  at?: string;
}

export interface JobRecord {
  id: JobId;
  tenantId: TenantId;
  model: string;
  /**
   * The model's version: the one selected when the job was accepted (a worker without its major version
   * refuses the job), then the one it ran on.
   */
  modelVersion: string;
  /** The tenant's own variant of the model the job ran (or will run) on, when it asked for one. */
  modelVariant?: string;
  /** The release whose code ran the job (set when it runs). */
  release?: string;
  status: JobStatus;
  /** What the user sent. */
  input: unknown;
  /** The input after the tenant's rules (defaults, fixed values) were applied: what the model ran on. */
  effectiveInput: unknown;
  rules: ModelRules;
  summary?: Record<string, unknown>;
  /** The input's plausibility warnings, recorded when the job was accepted (a rate typed as percent). */
  warnings?: JobWarning[];
  /** Chart data (free cash flow by year, a fund's J-curve). */
  series?: Record<string, { label: string | number; value: number }[]>;
  artifacts: Artifact[];
  /** Set with the workbook: the formatting and model version it was rendered with. */
  rendering?: Rendering;
  error?: JobError;
  /**
   * While it runs, how far the model got (`{ done: 1200, total: 5000, unit: 'paths' }`). Written by
   * `TenantJobStore.recordProgress` without a new version; the next status change drops it.
   */
  progress?: JobProgress;
  /** Deliveries that started running this job; more than one means a retry after a crash or timeout. */
  attempts: number;
  /**
   * Run time the platform measured functions running this job, in milliseconds, summed over its ended
   * attempts (src/core/attempt-time.ts): the run time `compute_mb_ms` bills (at each attempt's memory,
   * `computeMbMs`). An attempt adds its own measured run
   * when its function ends it (success, failure, a failed attempt to be retried); one whose end the platform
   * never saw (a crash, a lost message) adds up to its last evidence (its progress), a timeout the platform
   * enforced up to the limit. Absent on records written before it was measured (docs/billing.md).
   */
  computeMs?: number;
  /** How many of `attempts` have ended and are counted in `computeMs` (absent with it). */
  computedAttempts?: number;
  /**
   * Memory (MB) of the function running the current (last started) attempt, as that function knows it: the
   * shared pool's, a dedicated process's setting when it was started, a Lambda's `memoryLimitInMB`. Written
   * with the attempt's `running` commit; absent on records from before it was recorded and where the
   * function does not know it (billed then at DEFAULT_MEMORY_MB, core/attempt-time.ts).
   */
  memoryMb?: number;
  /**
   * Σ over the ended attempts of run time (ms) × the memory (MB) that attempt ran with: what
   * `compute_mb_ms` bills (docs/billing.md, "Compute"). Kept with `computeMs`; absent on records from before.
   */
  computeMbMs?: number;
  /**
   * What the job's finishes before its last requeue (a dead letter redriven, a failed job retried by an
   * operator) were billed: the attempts they counted and their `compute_mb_ms` (MB·ms). A later finish bills
   * only the compute run since, under an id of its own (core/usage.ts, `usageOfFinishedJob`).
   */
  billedBefore?: BilledBefore;
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
  /** Its timeline and log (core/job-story.ts), written with the state changes they describe. */
  story?: JobStory;
  /** Incremented on every write; status changes are compare-and-set on it. */
  version: number;
}

const ALLOWED: Record<JobStatus, readonly JobStatus[]> = {
  // queued → failed: refused after it was accepted (the message could not be sent), or dead-lettered.
  queued: ['running', 'cancelled', 'failed'],
  // running → running is a redelivery taking over after a crash or visibility timeout.
  running: ['running', 'succeeded', 'failed'],
  succeeded: [],
  // failed → queued: an operator redrives a dead-lettered job (control/dead-letters.ts); it runs again.
  failed: ['queued'],
  cancelled: [],
};

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED[from].includes(to);
}

export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
}

/**
 * The next version of a job record, for a compare-and-set write: every job write goes through here, so a
 * status change (`patch.status`) happens only along the state machine above.
 * @throws InvalidTransitionError when `patch.status` is not reachable from `job.status`
 */
export function nextJobVersion(job: JobRecord, patch: Partial<JobRecord>, now = new Date()): JobRecord {
  if (patch.status !== undefined) assertTransition(job.status, patch.status);
  return { ...job, ...patch, version: job.version + 1, updatedAt: now.toISOString() };
}

/** The object key of a job's artifact: the same for every delivery of the job, so a retry overwrites, never adds. */
export function artifactKey(jobId: JobId, name: string): string {
  return `jobs/${jobId}/${name}`;
}

/** The major part of a semver string (`2` of `2.1.0`). */
export function majorVersion(version: string): string {
  return version.split('.')[0] ?? version;
}
