import type { TenantId } from '../core/ids.ts';

/**
 * `move`: a placement move. `apply`: a dedicated tenant's new function settings applied to its resources.
 * `offboard`: export, then removal of everything of a tenant, where that takes longer than a request.
 * `rollout`: a release rolled to every dedicated tenant in waves (filed under `_platform`, not a tenant).
 * `onboard`: a dedicated tenant's onboarding, recorded before its lanes are made so that one cut short
 * between its lanes and its record is reconciled (control/onboarding.ts).
 */
export type OperationKind = 'move' | 'apply' | 'offboard' | 'rollout' | 'onboard';
export type OperationStatus = 'running' | 'succeeded' | 'failed';
export type StepStatus = 'pending' | 'running' | 'done' | 'failed';

export interface OperationStep {
  name: string;
  status: StepStatus;
  detail?: string;
}

/** A long-running control-plane operation (a placement move), persisted so a restart resumes it. */
export interface Operation {
  id: string;
  kind: OperationKind;
  tenantId: TenantId;
  status: OperationStatus;
  /** 0..1 */
  progress: number;
  steps: OperationStep[];
  /** What the operation was asked to do, e.g. `{ from: 'shared', to: 'dedicated' }`. */
  params: Record<string, string>;
  error?: { code: string; message: string };
  createdAt: string;
  updatedAt: string;
  /** Incremented on every write; updates are compare-and-set on it. */
  version: number;
}

/** Operations by id, single-item conditional writes (DynamoDB-shaped, like the job store). */
export interface OperationStore {
  create(operation: Operation): Promise<void>;
  get(id: string): Promise<Operation | undefined>;
  /** Compare-and-set on `version`; throws ConditionFailedError when it changed. Returns the stored item. */
  update(next: Operation, expectedVersion: number): Promise<Operation>;
  /** Operations still running (to resume after a restart). */
  listRunning(): Promise<Operation[]>;
  listByTenant(tenantId: TenantId): Promise<Operation[]>;
  /**
   * Removes a tenant's operations (offboarding leaves nothing of the tenant behind), but those named in
   * `except` (an offboarding operation keeps itself and the finished offboardings of the id's earlier
   * tenants: each holds its export's location).
   */
  deleteByTenant(tenantId: TenantId, except?: string | readonly string[]): Promise<void>;
}

/**
 * What of a tenant the other ports cannot enumerate in the shared stores: Idempotency-Keys whose job was
 * never created, and queue traces (messages, dead letters, fair-scheduling rows, dedup ids). Used by moves
 * and offboarding so nothing of a tenant stays behind.
 */
export interface TenantEraser {
  /** Every item of the tenant's partition in the shared job store. */
  eraseJobItems(tenantId: TenantId): Promise<number>;
  /** The tenant's messages in every shared queue (dead letters too), its scheduling rows, its metrics history, its jobs' dedup ids. */
  eraseQueueTraces(tenantId: TenantId, jobIds: readonly string[]): Promise<number>;
  /** What deleting each object leaves in the shared object store (folders named after the tenant). */
  eraseObjectRoot(tenantId: TenantId): Promise<void>;
  /**
   * Where anything of the tenant (or one of `jobIds`) is still found among what only this adapter can
   * search: queue rows, dedup ids, dead-letter outbox rows, folders. One short description per place;
   * empty when nothing remains. Absent where nothing can be searched (SQS cannot list a tenant's messages).
   */
  findRemains?(tenantId: TenantId, jobIds: readonly string[]): Promise<string[]>;
  /**
   * After the tenant record is removed (offboarding's last step, run again on every retry): what the store
   * of tenant records keeps of it beside its rows (the embedded write-ahead log of silopool.sqlite, which
   * holds the record's earlier versions). Absent where there is nothing such.
   */
  eraseRecordTraces?(tenantId: TenantId): Promise<void>;
}
