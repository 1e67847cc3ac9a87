import { NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { MovePhase } from '../core/placement.ts';
import type { Placement, Tenant } from '../core/tenant.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { retryOnConflict } from './conflicts.ts';

// A move's changes to the tenant record: each a compare-and-set on `tenant.version`, re-read and retried
// (retryOnConflict) where an unrelated change of the tenant may have won the race.

export async function requireTenant(directory: TenantDirectory, tenantId: TenantId): Promise<Tenant> {
  const tenant = await directory.get(tenantId);
  if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
  return tenant;
}

/** Records `move` on the tenant; `ConditionFailedError` when the tenant changed since it was read. */
export async function setMove(
  directory: TenantDirectory,
  tenant: Tenant,
  move: NonNullable<Tenant['move']>,
): Promise<Tenant> {
  return directory.update(
    { ...tenant, move, version: tenant.version + 1, updatedAt: new Date().toISOString() },
    tenant.version,
  );
}

/** Moves `tenant.move.phase` forward (CAS, retried on unrelated tenant changes); never backward. */
export async function setMovePhase(
  directory: TenantDirectory,
  tenantId: TenantId,
  opId: string,
  phase: MovePhase,
): Promise<Tenant> {
  return retryOnConflict(async () => {
    const tenant = await requireTenant(directory, tenantId);
    if (tenant.move?.operationId !== opId)
      throw new Error(`Tenant ${tenantId} is no longer moved by ${opId}.`);
    if (tenant.move.phase === phase) return tenant;
    return setMove(directory, tenant, { ...tenant.move, phase });
  });
}

/** The switch: placement = `to`, move cleared, in one CAS; a no-op once done. */
export async function switchPlacement(
  directory: TenantDirectory,
  tenantId: TenantId,
  to: Placement,
): Promise<void> {
  await retryOnConflict(async () => {
    const current = await requireTenant(directory, tenantId);
    if (current.placement === to && !current.move) return;
    // A shared tenant runs the current release: a release of its own would come back stale on promotion.
    const { move: _move, release, ...rest } = current;
    const kept = to === 'dedicated' && release ? { release } : {};
    await directory.update(
      {
        ...rest,
        ...kept,
        placement: to,
        version: current.version + 1,
        updatedAt: new Date().toISOString(),
      },
      current.version,
    );
  });
}

/** Clears the move of operation `opId` from the tenant (a rolled-back move); a no-op once cleared. */
export async function clearMove(directory: TenantDirectory, tenantId: TenantId, opId: string): Promise<void> {
  await retryOnConflict(async () => {
    const tenant = await requireTenant(directory, tenantId);
    if (tenant.move?.operationId !== opId) return;
    const { move: _move, ...rest } = tenant;
    await directory.update(
      { ...rest, version: tenant.version + 1, updatedAt: new Date().toISOString() },
      tenant.version,
    );
  });
}
