import { type JobRecord, majorVersion } from '../core/job.ts';
import { releaseOf } from '../core/release.ts';
import { incarnationOf, type Tenant } from '../core/tenant.ts';
import { PinnedVersionUnavailableError, UnknownModelError, VariantUnavailableError } from './errors.ts';
import { models as builtinModels } from './registry.ts';
import type { ModelVariant, ReleaseCatalog } from './release-catalog.ts';
import type { ModelDefinition } from './types.ts';

/** Whether `variant` was made for this tenant: its id and its incarnation (`incarnationOf`). */
export function ownsVariant(
  tenant: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>,
  variant: ModelVariant,
): boolean {
  return variant.tenantId === tenant.id && variant.tenantIncarnation === incarnationOf(tenant);
}

/** What a job runs on: the model code, its version, the variant when it is one, and the release. */
export interface SelectedModel {
  definition: ModelDefinition;
  version: string;
  variant?: string;
  release: string;
}

/**
 * The model a job of `tenant` runs on (the one selection, called by the model handler): a pinned
 * version wherever a loaded release has it; else the tenant's release (`releaseOf`), with the tenant's
 * variant when the job asked for one, which only its own dedicated lane runs. Throws `UnknownModelError`,
 * `VariantUnavailableError`, or a `SilopoolError` 409 `pinned_version_unavailable`.
 */
export async function selectModel(
  catalog: ReleaseCatalog,
  tenant: Tenant,
  job: Pick<JobRecord, 'model' | 'modelVariant'>,
  lane: 'shared' | 'dedicated',
  /** The current release when the caller has just read it (`catalog.current()`): one read per submit. */
  current?: string,
): Promise<SelectedModel> {
  current ??= await catalog.current();
  const releaseId = releaseOf(tenant, current);
  if (job.modelVariant) {
    const release = await catalog.get(releaseId);
    const variant = release?.variants.get(job.modelVariant);
    if (
      !variant ||
      !ownsVariant(tenant, variant) ||
      variant.definition.name !== job.model ||
      lane !== 'dedicated'
    ) {
      throw new VariantUnavailableError(job.modelVariant);
    }
    return {
      definition: variant.definition,
      version: variant.definition.version,
      variant: variant.name,
      release: releaseId,
    };
  }
  if (!Object.hasOwn(builtinModels, job.model)) throw new UnknownModelError(job.model, builtinNames());
  const pinned = tenant.pins && Object.hasOwn(tenant.pins, job.model) ? tenant.pins[job.model] : undefined;
  if (pinned) return findVersion(catalog, job.model, pinned, [releaseId, current]);
  const release = (await catalog.get(releaseId)) ?? (await catalog.get(current));
  const definition = release?.models.get(job.model);
  if (!release || !definition) throw new UnknownModelError(job.model, [...builtinNames()]);
  return { definition, version: definition.version, release: release.id };
}

/** The first loaded release (the preferred ones first, then the rest by id) carrying `model` at `version`. */
export async function findVersion(
  catalog: ReleaseCatalog,
  model: string,
  version: string,
  prefer: string[] = [],
): Promise<SelectedModel> {
  for (const id of prefer) {
    const definition = (await catalog.get(id).catch(() => undefined))?.models.get(model);
    if (definition?.version === version) return { definition, version, release: id };
  }
  for (const release of (await catalog.list()).releases) {
    const definition = release.models.get(model);
    if (definition?.version === version) return { definition, version, release: release.id };
  }
  throw new PinnedVersionUnavailableError(model, version);
}

/**
 * What a tenant's submit to `/v1/models/{name}/jobs` names: a platform model, or the tenant's own
 * variant while it is dedicated. Another tenant's variant is a model that does not exist (the same 404).
 */
export async function modelForSubmit(
  catalog: ReleaseCatalog | undefined,
  tenant: Tenant,
  name: string,
): Promise<{ definition: ModelDefinition; model: string; version: string; variant?: string }> {
  // The release pointer read once (a `stat` of `current.json` on the embedded backend) for both questions.
  const current = catalog ? await catalog.current() : undefined;
  const variant = catalog ? await variantOf(catalog, tenant, name, current) : undefined;
  if (variant) {
    if (tenant.placement !== 'dedicated') throw new VariantUnavailableError(name);
    const { definition } = variant;
    return { definition, model: definition.name, version: definition.version, variant: name };
  }
  const base = Object.hasOwn(builtinModels, name) ? builtinModels[name] : undefined;
  if (!base) throw new UnknownModelError(name, builtinNames());
  if (!catalog) return { definition: base, model: name, version: base.version };
  // A pinned version no release carries is refused now (409), not when the job runs.
  const selected = await selectModel(catalog, tenant, { model: name }, tenant.placement, current);
  return { definition: selected.definition, model: name, version: selected.version };
}

/** The tenant's variants in the release its functions run (what `GET /v1/models` adds for it). */
export async function variantsFor(
  catalog: ReleaseCatalog,
  tenant: Tenant,
  current?: string,
): Promise<ModelVariant[]> {
  const releaseId = releaseOf(tenant, current ?? (await catalog.current()));
  const release = await catalog.get(releaseId).catch(() => undefined);
  return [...(release?.variants.values() ?? [])].filter((v) => ownsVariant(tenant, v));
}

async function variantOf(
  catalog: ReleaseCatalog,
  tenant: Tenant,
  name: string,
  current?: string,
): Promise<ModelVariant | undefined> {
  return (await variantsFor(catalog, tenant, current)).find((v) => v.name === name);
}

function builtinNames(): string[] {
  return Object.keys(builtinModels);
}

/**
 * The handler's one call: the model a job runs on and what its record keeps of it (`modelVersion`,
 * `modelVariant`, `release`). Without a catalog, the built-in models.
 */
export async function modelForJob(
  catalog: ReleaseCatalog | undefined,
  tenant: Tenant,
  job: Pick<JobRecord, 'model' | 'modelVariant'> & { modelVersion?: string },
  lane: 'shared' | 'dedicated',
): Promise<{
  definition: ModelDefinition;
  record: Pick<JobRecord, 'modelVersion' | 'modelVariant' | 'release'>;
}> {
  if (!catalog) {
    if (job.modelVariant) throw new VariantUnavailableError(job.modelVariant);
    const definition = Object.hasOwn(builtinModels, job.model) ? builtinModels[job.model] : undefined;
    if (!definition) throw new UnknownModelError(job.model, builtinNames());
    return { definition, record: { modelVersion: definition.version } };
  }
  let selected = await selectModel(catalog, tenant, job, lane);
  // A job accepted before an upgrade to a new major version runs on the version it was accepted for,
  // where a loaded release still has it (the handler refuses another major: it may give other numbers).
  const accepted = job.modelVersion;
  if (accepted && !job.modelVariant && majorVersion(accepted) !== majorVersion(selected.version)) {
    selected = await findVersion(catalog, job.model, accepted).catch(() => selected);
  }
  return {
    definition: selected.definition,
    record: {
      modelVersion: selected.version,
      release: selected.release,
      ...(selected.variant ? { modelVariant: selected.variant } : {}),
    },
  };
}

/** The model is the platform's own code (not a release's or a variant's): other processes can run its parts. */
export function isBuiltin(definition: ModelDefinition): boolean {
  return Object.hasOwn(builtinModels, definition.name) && builtinModels[definition.name] === definition;
}
