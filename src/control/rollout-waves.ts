import { ConditionFailedError, NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import { laneForPlacement } from '../core/placement.ts';
import type { HealthSample } from '../core/release.ts';
import { incarnationOf, type Tenant } from '../core/tenant.ts';
import { listModels } from '../models/registry.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import { redriveDeadLetters } from './dead-letters.ts';
import { sampleHealth } from './release-health.ts';
import { allTenants, type ControlDeps, infrastructureOf } from './tenants.ts';

/**
 * Sets each tenant's release (CAS, retried) to `releaseFor`'s answer (`''`: none, it follows the current
 * release; undefined: the tenant is left as it is, and not answered); skips tenants gone, moving,
 * offboarding, no longer dedicated, or another incarnation of the id than the one planned (`incarnations`;
 * an upgrade planned before they were recorded has none). Answers the tenants set.
 */
export async function applyRelease(
  deps: ControlDeps,
  wave: TenantId[],
  releaseFor: (id: TenantId, tenant: Tenant) => string | undefined,
  incarnations: Record<string, string> | undefined,
): Promise<TenantId[]> {
  const applied: TenantId[] = [];
  for (const tenantId of wave) {
    for (;;) {
      const tenant = await deps.directory.get(tenantId);
      if (tenant?.placement !== 'dedicated' || tenant.move || tenant.status === 'offboarding') break;
      const planned = incarnations?.[tenantId];
      if (planned !== undefined && planned !== incarnationOf(tenant)) break;
      const target = releaseFor(tenantId, tenant);
      if (target === undefined) break;
      if ((tenant.release ?? '') !== target) {
        const { release: _old, ...rest } = tenant;
        const next: Tenant = {
          ...rest,
          ...(target ? { release: target } : {}),
          version: tenant.version + 1,
          updatedAt: new Date().toISOString(),
        };
        try {
          await deps.directory.update(next, tenant.version);
        } catch (error) {
          if (error instanceof ConditionFailedError) continue;
          throw error;
        }
      }
      // On AWS the tenant's stack is updated to the release's code and template; locally this only
      // makes sure its queues exist, and the host replaces its processes (`onReleaseChange`).
      const infrastructure = infrastructureOf(deps);
      if (infrastructure.speed === 'slow') {
        const current = await deps.directory.get(tenantId);
        if (current) await infrastructure.deploy(current);
      }
      applied.push(tenantId);
      break;
    }
  }
  return applied;
}

/**
 * Redrives what a rolled-back wave's lanes dead-lettered onto the previous code. A queue whose redrive
 * failed is named in `unredriven` (and reported), not swallowed: its dead letters wait for an operator.
 */
export async function redriveWave(
  deps: ControlDeps,
  wave: TenantId[],
  onError: (queue: string, error: string) => void,
): Promise<{ redriven: number; unredriven: string[] }> {
  let redriven = 0;
  const unredriven: string[] = [];
  for (const tenantId of wave) {
    for (const model of listModels()) {
      const queue = laneForPlacement(tenantId, 'dedicated', model.name).queue;
      try {
        redriven += (await redriveDeadLetters(deps, queue)).moved;
      } catch (error) {
        // A lane without queues (a model added since its stack was made) has nothing to redrive.
        if (error instanceof NotFoundError) continue;
        unredriven.push(`${queue}: ${(error as Error).message ?? String(error)}`);
        onError(queue, String(error));
      }
    }
  }
  return { redriven, unredriven };
}

/** The incarnation each planned tenant had when the upgrade was planned (undefined for older upgrades). */
export function incarnationsOf(op: Operation): Record<string, string> | undefined {
  return op.params.incarnations === undefined
    ? undefined
    : (JSON.parse(op.params.incarnations) as Record<string, string>);
}

/**
 * Whether `tenantId` is still one of the upgrade's tenants: dedicated, not offboarding, and the incarnation
 * planned (`incarnations`; none recorded for older upgrades). A tenant moving away is one until its switch.
 */
export async function inUpgrade(
  deps: Pick<ControlDeps, 'directory'>,
  tenantId: TenantId,
  incarnations: Record<string, string> | undefined,
): Promise<boolean> {
  const tenant = await deps.directory.get(tenantId);
  if (tenant?.placement !== 'dedicated' || tenant.status === 'offboarding') return false;
  const planned = incarnations?.[tenantId];
  return planned === undefined || planned === incarnationOf(tenant);
}

/**
 * A wave tenant's health in `[from, to)` (`sampleHealth`), or undefined once it has left the upgrade
 * (`inUpgrade`: demoted, offboarded, its id another customer's). Its dedicated store is then gone (or going),
 * and what it runs is no longer the wave's release: sampled regardless, every sample failed and the upgrade
 * was driven again until it gave up, rolling back the other tenants of the wave. A sample that fails for a
 * tenant still in the upgrade throws. With `release`, the sample counts the jobs that ran on it (`onRelease`).
 */
export async function sampleWaveTenant(
  deps: ControlDeps,
  tenantId: TenantId,
  incarnations: Record<string, string> | undefined,
  from: string,
  to?: string,
  release?: string,
): Promise<HealthSample | undefined> {
  if (!(await inUpgrade(deps, tenantId, incarnations))) return undefined;
  try {
    return await sampleHealth(deps, tenantId, from, to, release);
  } catch (error) {
    // Left between the look and the sample (a demotion removes the store after its switch).
    if (!(await inUpgrade(deps, tenantId, incarnations))) return undefined;
    throw error;
  }
}

/**
 * The wave's tenants being moved now (the incarnation planned, not offboarding, by a move operation still
 * running): the upgrade deploys to them once their move has ended, since `applyRelease` skips a tenant
 * mid-move. A `move` whose operation is gone or ended is not waited for.
 */
export async function movingTenants(
  deps: Pick<ControlDeps, 'directory'> & { operations: Pick<OperationStore, 'get'> },
  wave: readonly TenantId[],
  incarnations: Record<string, string> | undefined,
): Promise<TenantId[]> {
  const moving: TenantId[] = [];
  for (const tenantId of wave) {
    const tenant = await deps.directory.get(tenantId);
    if (!tenant?.move || tenant.status === 'offboarding') continue;
    const planned = incarnations?.[tenantId];
    if (planned !== undefined && planned !== incarnationOf(tenant)) continue;
    if ((await deps.operations.get(tenant.move.operationId))?.status === 'running') moving.push(tenantId);
  }
  return moving;
}

/**
 * At an upgrade's end, the dedicated tenants not on `release` by their record: promoted (or onboarded
 * dedicated, or demoted and promoted again) since their wave was planned, so in no wave that deployed it.
 * `moving`: tenants whose move runs still (waited for, as a wave's are); `ready`: the dedicated ones to be given
 * the release. Their stacks were deployed with the release current then: on AWS, following the pointer alone,
 * they kept the old code.
 */
export async function latecomers(
  deps: Pick<ControlDeps, 'directory'> & { operations: Pick<OperationStore, 'get'> },
  release: string,
): Promise<{ moving: TenantId[]; ready: TenantId[] }> {
  const tenants = (await allTenants(deps)).filter((t) => t.status !== 'offboarding');
  const moving = await movingTenants(
    deps,
    tenants.filter((t) => t.move).map((t) => t.id),
    undefined,
  );
  const ready = tenants
    .filter((t) => t.placement === 'dedicated' && !moving.includes(t.id) && t.release !== release)
    .map((t) => t.id);
  return { moving, ready };
}

/**
 * The releases in the releases folder now (`releaseFor` of `applyRelease` keeps a tenant on one of them): those
 * loaded and those there but failing to load (found broken or unreadable, not withdrawn). A release withdrawn
 * (its folder removed) is not one: a tenant whose record names it runs the current release while showing the
 * withdrawn one, and is listed on no release. Throws what listing the folder throws (an unreadable folder is
 * not "every release withdrawn").
 */
export async function publishedReleases(catalog: ReleaseCatalog): Promise<Set<string>> {
  const { releases, invalid } = await catalog.list();
  return new Set([...releases.map((r) => r.id), ...invalid.map((r) => r.id)]);
}

/**
 * Moves every dedicated tenant whose record names a withdrawn release (no longer in the releases folder)
 * back to the current release (`release` cleared, its stack redeployed on AWS; `applyRelease`), unless the
 * release is one that failed to load (`invalid`: found broken, not withdrawn). A tenant mid-move is left for
 * the next call. Answers the tenants moved.
 *
 * The folder is listed after the tenants are read, and only the releases their records named and the listing
 * lacks are withdrawn: listed first, a release published and given to a tenant (an upgrade's wave) between
 * the listing and the scan was taken for withdrawn, and the tenant moved off the release it had just got.
 */
export async function leaveWithdrawnReleases(
  deps: ControlDeps & { catalog: ReleaseCatalog },
): Promise<TenantId[]> {
  const named = (await allTenants(deps)).filter((t) => t.release);
  if (named.length === 0) return [];
  const known = await publishedReleases(deps.catalog);
  const withdrawn = new Set(named.map((t) => t.release!).filter((release) => !known.has(release)));
  const stranded = named.filter((t) => withdrawn.has(t.release!)).map((t) => t.id);
  if (stranded.length === 0) return [];
  // Only a tenant still on a release found withdrawn: one given a release meanwhile (an upgrade) keeps it.
  return applyRelease(
    deps,
    stranded,
    (_id, t) => (t.release && withdrawn.has(t.release) ? '' : undefined),
    undefined,
  );
}
