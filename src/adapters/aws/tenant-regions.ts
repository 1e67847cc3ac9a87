import type { TenantId } from '../../core/ids.ts';
import type { Tenant } from '../../core/tenant.ts';
import type { TenantDirectory } from '../../ports/tenant-directory.ts';

/**
 * Which AWS Region holds each tenant's own resources: the Region its contract names (`tenant.region`), or
 * the platform's. Queues and stores are resolved synchronously by tenant id (a queue name, a StoreRef), so
 * the Region is learned from every tenant record this process reads: whatever routes a tenant's jobs reads
 * its record first (the API's tenant context, a function's view, a move's or an upgrade's record).
 */
export interface TenantRegions {
  /** The platform's Region: its shared lanes, stores, directory and announcement queues. */
  readonly platform: string;
  /** The Region of the tenant's own queues, table and bucket. */
  of(tenantId: TenantId): string;
  /** Records the tenant's Region, from a record just read or written. */
  note(tenant: Pick<Tenant, 'id' | 'region'>): void;
  /** The platform's Region, the configured contract Regions and any a tenant record named. */
  all(): string[];
}

export function createTenantRegions(platform: string, configured: readonly string[] = []): TenantRegions {
  // Only tenants outside the platform's Region are kept: the map stays as small as the contracts.
  const elsewhere = new Map<TenantId, string>();
  return {
    platform,
    of: (tenantId) => elsewhere.get(tenantId) ?? platform,
    note(tenant) {
      if (tenant.region === undefined || tenant.region === platform) elsewhere.delete(tenant.id);
      else elsewhere.set(tenant.id, tenant.region);
    },
    all: () => [...new Set([platform, ...configured, ...elsewhere.values()])],
  };
}

/** The tenant whose own queue this is (`tenant_{id}_…`, dead-letter queues included); undefined for shared ones. */
export function tenantOfQueue(queue: string): TenantId | undefined {
  // Tenant ids cannot contain `_`: the id ends at the next one.
  const match = /^tenant_([a-z0-9][a-z0-9-]{1,62})_/.exec(queue);
  return match ? (match[1] as TenantId) : undefined;
}

/** The directory, noting the Region of every tenant it returns or writes. */
export function notingRegions<D extends TenantDirectory>(directory: D, regions: TenantRegions): D {
  const noted = (tenant: Tenant | undefined) => {
    if (tenant) regions.note(tenant);
    return tenant;
  };
  return {
    ...directory,
    async create(tenant) {
      await directory.create(tenant);
      regions.note(tenant);
    },
    get: async (id) => noted(await directory.get(id)),
    update: async (next, expectedVersion) => noted(await directory.update(next, expectedVersion)) as Tenant,
    async list(options) {
      const page = await directory.list(options);
      for (const tenant of page.items) regions.note(tenant);
      return page;
    },
  };
}
