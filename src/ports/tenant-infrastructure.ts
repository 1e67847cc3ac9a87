import type { TenantId } from '../core/ids.ts';
import type { Tenant } from '../core/tenant.ts';

export interface InfrastructureOptions {
  /** Progress for the operation that waits (e.g. "CREATE_IN_PROGRESS: 14 of 31 resources"). */
  report?(detail: string): Promise<void>;
  /** The waiter stops (throws StoppedError) when this aborts: the operation resumes later, elsewhere. */
  signal?: AbortSignal;
}

/**
 * A dedicated tenant's own resources: its queues, its store and (on AWS) its functions. Locally they are
 * queues and a SQLite file made by the control plane; on AWS they are one CloudFormation stack per
 * tenant, instantiated from the template published with the platform. Both calls are idempotent and
 * resumable: calling again after a crash (or a stop) picks up where the last call left off.
 */
export interface TenantInfrastructure {
  /**
   * `immediate`: deploy finishes within a request (local lanes). `slow`: it takes minutes (a stack), so
   * onboarding a dedicated tenant starts it shared and promotes it in the background.
   */
  readonly speed: 'immediate' | 'slow';
  /** Creates (or updates to the tenant's settings) its dedicated resources; resolves when they serve. */
  deploy(tenant: Tenant, options?: InfrastructureOptions): Promise<string>;
  /** Removes them, data included: called only once the data lives elsewhere or was exported. */
  remove(tenantId: TenantId, options?: InfrastructureOptions): Promise<string>;
}

/** Thrown by a waiter whose signal aborted: not a failure, the work goes on when resumed. */
export class StoppedError extends Error {
  constructor(message = 'Stopped before the infrastructure was ready; it resumes.') {
    super(message);
    this.name = 'StoppedError';
  }
}
