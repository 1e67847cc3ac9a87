import type { RegionError } from '../../core/errors.ts';
import type { TenantId } from '../../core/ids.ts';
import { awsRegion } from '../../core/region.ts';
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
  /**
   * The Region of the tenant's own queues, table and bucket.
   * @throws RegionError when the tenant's record names no Region of this platform (`awsRegion`)
   */
  of(tenantId: TenantId): string;
  /** Records the tenant's Region, from a record just read or written. */
  note(tenant: Pick<Tenant, 'id' | 'region'>): void;
  /**
   * The tenant's Region, reading its record first when this process has not seen it (a function thread
   * polling a dedicated lane before any of its jobs ran). For async callers (the queue adapter).
   */
  resolve(tenantId: TenantId): Promise<string>;
  /** The platform's Region, the configured contract Regions and any a tenant record named. */
  all(): string[];
  /**
   * `region` if this platform reaches it (its own or a configured contract Region): what every SDK client,
   * ARN and URL built for a Region passes first (`awsRegion`).
   * @throws RegionError otherwise
   */
  check(region: string): string;
}

/**
 * `lookup` reads a tenant's record (its view) for `resolve`; without it an unseen tenant is taken to be in the
 * platform's Region. `configured`: the contract Regions (`SILOPOOL_CONTRACT_REGIONS`); a record naming any
 * other Region, or something that is no Region name, makes that tenant's `of` and `resolve` throw its
 * `RegionError` (other tenants are unaffected), so no client, bucket name or queue URL is built from it.
 * @throws RegionError when `platform` or a configured Region is no AWS Region name
 */
export function createTenantRegions(
  platform: string,
  configured: readonly string[] = [],
  lookup?: (tenantId: TenantId) => Promise<Pick<Tenant, 'id' | 'region'> | undefined>,
): TenantRegions {
  const allowed = [...new Set([platform, ...configured])].map((r) => awsRegion(r, 'any'));
  const elsewhere = new Map<TenantId, string>();
  // Tenants whose record names a Region refused by `awsRegion`, with the error each use throws.
  const refused = new Map<TenantId, RegionError>();
  // Tenants whose Region is known: every one noted, in the platform's Region or not.
  const seen = new Set<TenantId>();
  const regions: TenantRegions = {
    platform,
    of(tenantId) {
      const error = refused.get(tenantId);
      if (error) throw error;
      return elsewhere.get(tenantId) ?? platform;
    },
    note(tenant) {
      seen.add(tenant.id);
      elsewhere.delete(tenant.id);
      refused.delete(tenant.id);
      if (tenant.region === undefined || tenant.region === platform) return;
      try {
        elsewhere.set(tenant.id, awsRegion(tenant.region, allowed));
      } catch (error) {
        refused.set(tenant.id, error as RegionError);
      }
    },
    async resolve(tenantId) {
      if (!seen.has(tenantId) && lookup) {
        const tenant = await lookup(tenantId);
        if (tenant) regions.note(tenant);
      }
      return regions.of(tenantId);
    },
    all: () => [...new Set([...allowed, ...elsewhere.values()])],
    check: (region) => awsRegion(region, allowed),
  };
  return regions;
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
