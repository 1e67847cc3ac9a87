import { ConditionFailedError, NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { Tenant } from '../core/tenant.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';

/** Compare-and-set attempts before a change gives up with the last `ConditionFailedError`. */
const ATTEMPTS = 10;

/**
 * Applies `edit` to the tenant's current record as one compare-and-set on its version, reading again and
 * re-applying when another writer got there first. Returns the stored record. Throws `NotFoundError` for
 * no such tenant, and `ConditionFailedError` when ten attempts in a row lose the race.
 */
export async function changeTenant(
  directory: TenantDirectory,
  id: TenantId,
  edit: (tenant: Tenant) => Tenant,
): Promise<Tenant> {
  for (let attempt = 1; ; attempt++) {
    const tenant = await directory.get(id);
    if (!tenant) throw new NotFoundError(`Tenant "${id}"`);
    try {
      return await directory.update(
        { ...edit(tenant), version: tenant.version + 1, updatedAt: new Date().toISOString() },
        tenant.version,
      );
    } catch (error) {
      if (!(error instanceof ConditionFailedError) || attempt >= ATTEMPTS) throw error;
    }
  }
}
