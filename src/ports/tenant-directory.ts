import type { TenantId } from '../core/ids.ts';
import type { Tenant } from '../core/tenant.ts';

export interface TenantPage {
  items: Tenant[];
  nextCursor?: string;
}

/** Tenants, their placement, config, limits and hashed API keys. Single-item conditional writes. */
export interface TenantDirectory {
  /** Throws ConflictError when the id is taken. */
  create(tenant: Tenant): Promise<void>;
  get(id: TenantId): Promise<Tenant | undefined>;
  /** Compare-and-set on `version`; throws ConditionFailedError on a lost race. */
  update(next: Tenant, expectedVersion: number): Promise<Tenant>;
  list(options?: { cursor?: string; limit?: number }): Promise<TenantPage>;
  delete(id: TenantId): Promise<void>;
}
