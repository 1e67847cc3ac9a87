import type { TenantId } from '../core/ids.ts';
import type { StoreRef } from '../core/placement.ts';
import type { RegionPolicy } from '../core/region.ts';
import type { OperationStore, TenantEraser } from '../ports/operation-store.ts';
import type { ControlDeps } from './tenants.ts';

/** A placement move's steps, in order; the operation records each one's status and detail. */
export const MOVE_STEPS = [
  'provision target lanes',
  'send new jobs to the target',
  'drain queued jobs from the old lane',
  'copy job records and artifacts',
  'verify counts and checksums',
  'switch reads',
  'remove data from the old place',
] as const;
export const [PROVISION, SEND, DRAIN, COPY, VERIFY, SWITCH, CLEANUP] = [0, 1, 2, 3, 4, 5, 6];

export interface MoveDeps extends ControlDeps {
  operations: OperationStore;
  eraser?: TenantEraser;
  /**
   * How long requests that read the tenant before a routing change may still act on it; each routing
   * change waits this long before the move relies on it. API requests take milliseconds; 1 s is generous.
   */
  graceMs?: number;
  pollMs?: number;
  /**
   * How long an onboarding's operation waits for its tenant to be written (ms, default 30 s) before it ends
   * as stopped: the two writes follow each other within a request.
   */
  onboardingGraceMs?: number;
  /** The first wait before an operation whose driver hit an error is driven again, ms (default 5000, doubling to 60 s). */
  retryMs?: number;
  /**
   * How long a driver's hold on an operation lasts unrenewed (ms; default 60 s): renewed every third of that
   * while it drives; another process takes the operation over once it has run out (`drivingLease`).
   */
  leaseMs?: number;
  /**
   * This process is the only one that can drive operations (the embedded server, which holds its data
   * directory's lock): a lease another left is taken over at once, as its process must have died.
   */
  soleDriver?: boolean;
  /**
   * `here` (default): this process drives the moves it starts. `elsewhere`: it only records them (the
   * API on Lambda, whose process freezes between requests); a control function resumes and drives them.
   */
  drive?: 'here' | 'elsewhere';
  /** Where tenants may be placed: a move to shared of a tenant whose contract names another region is refused. */
  regions?: RegionPolicy;
  /** Called after each routing change (the local host re-reads its dedicated lanes at once). */
  onRoutingChange?(): Promise<void>;
  /** Where a move's copy and verify run (default: here, on this thread; embedded: a worker thread). */
  dataSteps?: MoveDataSteps;
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
}

/**
 * The data steps of a move that read and write every record and artifact of a tenant. Each takes the move
 * runner's stop `signal`: a step that can be cut short (one run in a worker thread) rejects once it aborts,
 * and the move resumes from that step (every step is idempotent) when the runner starts again.
 */
export interface MoveDataSteps {
  copy(
    tenantId: TenantId,
    source: StoreRef,
    target: StoreRef,
    report: (detail: string, fraction?: number) => Promise<void>,
    signal?: AbortSignal,
  ): Promise<string>;
  verify(
    tenantId: TenantId,
    source: StoreRef,
    target: StoreRef,
    signal?: AbortSignal,
  ): Promise<{ problems: string[]; detail: string }>;
  /** Meters and deletes a switched tenant's records, keys and objects from the shared store `source`. */
  removeShared(tenantId: TenantId, source: StoreRef, signal?: AbortSignal): Promise<string>;
}
