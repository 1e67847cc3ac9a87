import { ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import { checkRegion, REGION_PATTERN, type RegionPolicy } from '../core/region.ts';
import { MODEL_VERSION_PATTERN, releaseOf } from '../core/release.ts';
import type { Tenant } from '../core/tenant.ts';
import { findVersion } from '../models/model-selection.ts';
import { models } from '../models/registry.ts';
import type { LoadedRelease, ReleaseCatalog } from '../models/release-catalog.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { retryOnConflict } from './conflicts.ts';

export interface ReleaseSettingsDeps {
  directory: TenantDirectory;
  catalog: ReleaseCatalog;
  regions: RegionPolicy;
}

/**
 * Pins a tenant's models to versions (`{ "finance": "1.1.0" }`; `{}` unpins all): each model must exist
 * and some loaded release must carry the version (400 naming the field, 409 `pinned_version_unavailable`).
 * Its jobs run on the pinned versions from the next job on, shared or dedicated.
 */
export async function setPins(
  deps: ReleaseSettingsDeps,
  id: TenantId,
  pins: Record<string, string>,
): Promise<Tenant> {
  const problems = Object.entries(pins).flatMap(([model, version]) => [
    ...(Object.hasOwn(models, model)
      ? []
      : [{ path: `/pins/${model}`, message: 'names no model', rule: 'model' }]),
    ...(typeof version === 'string' && MODEL_VERSION_PATTERN.test(version)
      ? []
      : [{ path: `/pins/${model}`, message: 'must be a version like 1.2.0', rule: 'version' }]),
  ]);
  if (problems.length > 0) throw new ValidationError(problems);
  for (const [model, version] of Object.entries(pins)) await findVersion(deps.catalog, model, version);
  return change(deps.directory, id, (tenant) => {
    const { pins: _old, ...rest } = tenant;
    return Object.keys(pins).length > 0 ? { ...rest, pins: { ...pins } } : rest;
  });
}

/**
 * Sets a tenant's contract region (`undefined` clears it). Refused when its placement cannot honour it:
 * 409 `region_requires_dedicated` for a shared tenant outside the platform's region (promote it first,
 * or set the region with the move), 422 `region_unavailable` where the backend cannot deploy there, 409
 * `region_change_requires_move` for a dedicated (or moving) tenant whose Region it would change: its stack and
 * data stay where they are, and routing would look for them in the new Region.
 */
export async function setRegion(
  deps: ReleaseSettingsDeps,
  id: TenantId,
  region: string | undefined,
): Promise<Tenant> {
  if (region !== undefined && !REGION_PATTERN.test(region)) {
    throw new ValidationError([
      { path: '/region', message: 'must be an AWS Region name like eu-central-1', rule: 'pattern' },
    ]);
  }
  return change(deps.directory, id, (tenant) => {
    // A tenant being moved is judged by where it goes.
    checkRegion(region, tenant.move?.to ?? tenant.placement, deps.regions);
    const platform = deps.regions.region;
    const moved = (region ?? platform) !== (tenant.region ?? platform);
    if (moved && (tenant.placement === 'dedicated' || tenant.move)) {
      throw new ConflictError(
        `Tenant ${id}'s stack and data are in ${tenant.region ?? platform}: its region cannot change while it is dedicated or moving. Set the region when it is onboarded.`,
        'region_change_requires_move',
      );
    }
    const { region: _old, ...rest } = tenant;
    return region !== undefined ? { ...rest, region } : rest;
  });
}

/** A release as operators see it: its models' versions, its variants (by tenant), and who runs it. */
export function releaseView(release: LoadedRelease, current: string, tenants: Tenant[]) {
  return {
    id: release.id,
    current: release.id === current,
    ...(release.manifest.description ? { description: release.manifest.description } : {}),
    ...(release.manifest.template ? { template: release.manifest.template } : {}),
    models: Object.fromEntries([...release.models].map(([name, m]) => [name, m.version])),
    variants: [...release.variants.values()].map((v) => ({
      name: v.name,
      model: v.definition.name,
      tenantId: v.tenantId,
      tenantIncarnation: v.tenantIncarnation,
      version: v.definition.version,
    })),
    tenants: tenants.filter((t) => releaseOf(t, current) === release.id).map((t) => t.id),
  };
}

/** Applies `edit` to the tenant's current record as one compare-and-set on its version (retryOnConflict). */
async function change(
  directory: TenantDirectory,
  id: TenantId,
  edit: (tenant: Tenant) => Tenant,
): Promise<Tenant> {
  return retryOnConflict(async () => {
    const tenant = await directory.get(id);
    if (!tenant) throw new NotFoundError(`Tenant "${id}"`);
    return directory.update(
      { ...edit(tenant), version: tenant.version + 1, updatedAt: new Date().toISOString() },
      tenant.version,
    );
  });
}
