import { isTenantId, type TenantId } from '../core/ids.ts';
import type { Tenant } from '../core/tenant.ts';
import type { TenantDirectory } from './tenant-directory.ts';

/**
 * The directory, trusting no stored record's `id`: a tenant id becomes queue names, table, bucket and stack
 * names, object prefixes and (embedded) folders, so a record changed behind the API whose `id` is no tenant
 * id (`../../x`), or not the id it is stored under, is no tenant. `get` answers undefined for it and `list`
 * leaves it out, so one such record neither reaches those names nor stops a loop over every tenant (limits,
 * reconciler, metering); `onInvalid` reports it for operators, once per record. The names themselves check the id again
 * (src/core/placement.ts, src/ports/object-store.ts, src/adapters/aws/naming.ts).
 */
export function withCheckedIds<D extends TenantDirectory>(
  directory: D,
  onInvalid: (stored: { key?: string; id: unknown }) => void = () => {},
): D {
  // Reported once per record: loops over every tenant read the directory every few seconds.
  const reported = new Set<string>();
  const checked = (tenant: Tenant | undefined, key?: TenantId): Tenant | undefined => {
    if (!tenant) return undefined;
    if (isTenantId(tenant.id) && (key === undefined || tenant.id === key)) return tenant;
    const stored = { ...(key !== undefined ? { key } : {}), id: tenant.id };
    const seen = JSON.stringify(stored);
    if (!reported.has(seen)) {
      reported.add(seen);
      onInvalid(stored);
    }
    return undefined;
  };
  return {
    ...directory,
    get: async (id) => checked(await directory.get(id), id),
    async list(options) {
      const page = await directory.list(options);
      return { ...page, items: page.items.filter((tenant) => checked(tenant) !== undefined) };
    },
  };
}
