import type { TenantId } from '../core/ids.ts';
import type { Tenant } from '../core/tenant.ts';

/** The page cursor list name of tenant lists (core/page-cursor.ts), alike on every adapter. */
export const TENANT_LIST = 'tenants';

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
  /**
   * Records that API key `keyId` of `tenant` (the record as just read) was used at `at` (ISO 8601), without
   * a new version so no compare-and-set writer loses a race to it. Best effort: when the record changed
   * since it was read (a key revoked, say) nothing is written, so a stale copy never comes back.
   */
  touchApiKey(tenant: Tenant, keyId: string, at: string): Promise<void>;
  list(options?: { cursor?: string; limit?: number }): Promise<TenantPage>;
  delete(id: TenantId): Promise<void>;
}

/** `tenant` with key `keyId` marked used at `at`, same version; undefined when the key is not there. */
export function withKeyUse(tenant: Tenant, keyId: string, at: string): Tenant | undefined {
  if (!tenant.apiKeys.some((k) => k.id === keyId)) return undefined;
  return { ...tenant, apiKeys: tenant.apiKeys.map((k) => (k.id === keyId ? { ...k, lastUsedAt: at } : k)) };
}
