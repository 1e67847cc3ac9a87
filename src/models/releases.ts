import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFileReleasePointer } from '../adapters/embedded/release-pointer.ts';
import { importModule } from '../core/dynamic-import.ts';
import type { FieldProblem } from '../core/errors.ts';
import { type JobRecord, majorVersion } from '../core/job.ts';
import { BUILTIN_RELEASE, MODEL_VERSION_PATTERN, RELEASE_ID_PATTERN, releaseOf } from '../core/release.ts';
import { incarnationOf, type Tenant } from '../core/tenant.ts';
import type { ReleasePointer } from '../ports/release-pointer.ts';
import {
  PinnedVersionUnavailableError,
  ReleaseContractError,
  UnknownModelError,
  VariantUnavailableError,
} from './errors.ts';
import { models as builtinModels } from './registry.ts';
import type { ModelDefinition } from './types.ts';

/**
 * `release.json` of a release directory (`{releasesDir}/{id}/`): the model versions it carries, each an
 * ES module beside the manifest, and tenants' own variants. A model it does not name runs at the built-in
 * version. `template` is the tenant template version its dedicated stacks are deployed with on AWS.
 */
export interface ReleaseManifest {
  id: string;
  description?: string;
  template?: string;
  models?: Record<string, { version: string; module: string }>;
  /**
   * `tenantIncarnation` is the `incarnation` of the tenant the variant was made for (`GET
   * /v1/admin/tenants/{id}`): a tenant id offboarded and onboarded again is another customer, never offered
   * its predecessor's variant.
   */
  variants?: {
    name: string;
    model: string;
    tenantId: string;
    tenantIncarnation: string;
    version: string;
    module: string;
  }[];
}

/**
 * A tenant's own variant of a model: listed and run only for the tenant `tenantId` in its incarnation
 * `tenantIncarnation` (`ownsVariant`), only in its dedicated lanes.
 */
export interface ModelVariant {
  name: string;
  tenantId: string;
  tenantIncarnation: string;
  definition: ModelDefinition;
}

/** Whether `variant` was made for this tenant: its id and its incarnation (`incarnationOf`). */
export function ownsVariant(
  tenant: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>,
  variant: ModelVariant,
): boolean {
  return variant.tenantId === tenant.id && variant.tenantIncarnation === incarnationOf(tenant);
}

export interface LoadedRelease {
  id: string;
  manifest: ReleaseManifest;
  /** Every model at the version this release runs (built-in ones included). */
  models: ReadonlyMap<string, ModelDefinition>;
  variants: ReadonlyMap<string, ModelVariant>;
}

/** What a job runs on: the model code, its version, the variant when it is one, and the release. */
export interface SelectedModel {
  definition: ModelDefinition;
  version: string;
  variant?: string;
  release: string;
}

export interface ReleaseCatalog {
  /** Every release in the directory, the built-in one first; a release that fails to load is left out. */
  list(): Promise<{ releases: LoadedRelease[]; invalid: { id: string; message: string }[] }>;
  /** The release, loaded; undefined when there is no such directory. Throws `ReleaseContractError`. */
  get(id: string): Promise<LoadedRelease | undefined>;
  /** The release unpinned shared tenants (and dedicated ones without a release of their own) run. */
  current(): Promise<string>;
  setCurrent(id: string): Promise<void>;
}

/**
 * Releases as directories (`{dir}/{id}/release.json` plus modules): on the embedded backend under
 * `DATA_DIR/releases`, on AWS in the function bundle. Several versions of a model are loaded at once;
 * a loaded release is kept (its directory is never changed once published). Which one is current is
 * `pointer`'s: by default `{dir}/current.json`; on AWS a DynamoDB item (the bundle is read-only).
 */
export function openReleaseCatalog(
  dir: string,
  pointer: ReleasePointer = createFileReleasePointer(dir),
): ReleaseCatalog {
  const loaded = new Map<string, Promise<LoadedRelease>>();
  const builtin: LoadedRelease = {
    id: BUILTIN_RELEASE,
    manifest: { id: BUILTIN_RELEASE },
    models: new Map(Object.entries(builtinModels)),
    variants: new Map(),
  };

  async function get(id: string): Promise<LoadedRelease | undefined> {
    if (id === BUILTIN_RELEASE) return builtin;
    if (!RELEASE_ID_PATTERN.test(id)) return undefined;
    let loading = loaded.get(id);
    if (!loading) {
      const manifest = await readManifest(dir, id);
      if (!manifest) return undefined;
      loading = loadRelease(dir, manifest);
      loaded.set(id, loading);
      loading.catch(() => loaded.delete(id));
    }
    return loading;
  }

  return {
    get,
    async list() {
      const names = await readdir(dir).catch(() => [] as string[]);
      const releases: LoadedRelease[] = [builtin];
      const invalid: { id: string; message: string }[] = [];
      for (const name of names.sort()) {
        if (!RELEASE_ID_PATTERN.test(name)) continue;
        try {
          const release = await get(name);
          if (release) releases.push(release);
        } catch (error) {
          invalid.push({ id: name, message: String((error as Error).message ?? error) });
        }
      }
      return { releases, invalid };
    },
    current: () => pointer.current(),
    setCurrent: (id) => pointer.setCurrent(id),
  };
}

async function readManifest(dir: string, id: string): Promise<ReleaseManifest | undefined> {
  const text = await readFile(join(dir, id, 'release.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return { ...(JSON.parse(text) as ReleaseManifest), id };
  } catch (error) {
    throw new ReleaseContractError(id, [{ path: '/release.json', message: `is not JSON: ${String(error)}` }]);
  }
}

/** Imports a release's modules and checks each against the contract of the built-in model it replaces. */
async function loadRelease(dir: string, manifest: ReleaseManifest): Promise<LoadedRelease> {
  const problems: FieldProblem[] = [];
  const models = new Map<string, ModelDefinition>(Object.entries(builtinModels));
  for (const [name, entry] of Object.entries(manifest.models ?? {})) {
    const base = Object.hasOwn(builtinModels, name) ? builtinModels[name] : undefined;
    const path = `/models/${name}`;
    if (!base) {
      problems.push({ path, message: 'names no model of the platform' });
      continue;
    }
    const definition = await importModel(dir, manifest.id, entry.module, base, path, problems);
    if (definition) {
      problems.push(...contractProblems(base, definition, entry.version, path));
      models.set(name, definition);
    }
  }
  const variants = new Map<string, ModelVariant>();
  for (const [i, entry] of (manifest.variants ?? []).entries()) {
    const path = `/variants/${i}`;
    const base = models.get(entry.model);
    if (!base) {
      problems.push({ path: `${path}/model`, message: 'names no model of the platform' });
      continue;
    }
    if (!/^[a-z][a-z0-9-]{1,62}$/.test(entry.name) || Object.hasOwn(builtinModels, entry.name)) {
      problems.push({ path: `${path}/name`, message: 'must be a new model-like name (a-z, 0-9, -)' });
      continue;
    }
    if (typeof entry.tenantIncarnation !== 'string' || entry.tenantIncarnation === '') {
      // Bound to an id alone, a variant went to whoever was onboarded next under that id.
      problems.push({
        path: `${path}/tenantIncarnation`,
        message: `must name the incarnation of the tenant it was made for (GET /v1/admin/tenants/${entry.tenantId} → incarnation)`,
      });
      continue;
    }
    // One name, one variant: a second would silently replace the first (and its tenant's jobs of it).
    if (variants.has(entry.name)) {
      problems.push({
        path: `${path}/name`,
        message: `names a variant already in this release (${entry.name})`,
      });
      continue;
    }
    const definition = await importModel(dir, manifest.id, entry.module, base, path, problems);
    if (!definition) continue;
    problems.push(...contractProblems(base, definition, entry.version, path));
    variants.set(entry.name, {
      name: entry.name,
      tenantId: entry.tenantId,
      tenantIncarnation: entry.tenantIncarnation,
      definition,
    });
  }
  if (problems.length > 0) throw new ReleaseContractError(manifest.id, problems);
  return { id: manifest.id, manifest, models, variants };
}

/**
 * A release module's default export is a model definition, or a function of the platform's model of the
 * same name returning one (so a release can change the calculation and keep the rest).
 */
async function importModel(
  dir: string,
  release: string,
  module: string,
  base: ModelDefinition,
  path: string,
  problems: FieldProblem[],
): Promise<ModelDefinition | undefined> {
  if (typeof module !== 'string' || !/^[A-Za-z0-9._-]+\.m?js$/.test(module) || module.startsWith('.')) {
    problems.push({
      path: `${path}/module`,
      message: 'must be a .js or .mjs file name in the release folder',
    });
    return undefined;
  }
  try {
    const exported = (
      (await importModule(pathToFileURL(join(dir, release, module)).href)) as { default: unknown }
    ).default;
    return (typeof exported === 'function' ? exported(base) : exported) as ModelDefinition;
  } catch (error) {
    problems.push({ path: `${path}/module`, message: `could not be loaded: ${String(error)}` });
    return undefined;
  }
}

/**
 * The contract a release's model (or a tenant's variant) keeps with the platform's: the same name, input
 * schema, sheets and summary units, so every tenant's rules, forms, stored jobs and clients stay valid.
 */
export function contractProblems(
  base: ModelDefinition,
  candidate: ModelDefinition,
  version: string,
  path: string,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!candidate || typeof candidate !== 'object') return [{ path, message: 'exports no model definition' }];
  if (candidate.name !== base.name) problems.push({ path: `${path}/name`, message: `must be ${base.name}` });
  if (typeof version !== 'string' || !MODEL_VERSION_PATTERN.test(version) || candidate.version !== version) {
    problems.push({ path: `${path}/version`, message: 'must be a semantic version equal to the module’s' });
  }
  for (const fn of ['check', 'cost', 'run', 'summary', 'workbook'] as const) {
    if (typeof candidate[fn] !== 'function')
      problems.push({ path: `${path}/${fn}`, message: 'must be a function' });
  }
  const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);
  if (!same(candidate.inputSchema, base.inputSchema)) {
    problems.push({ path: `${path}/inputSchema`, message: `must equal the input schema of ${base.name}` });
  }
  if (!same(candidate.sheetNames, base.sheetNames)) {
    problems.push({ path: `${path}/sheetNames`, message: `must equal the sheets of ${base.name}` });
  }
  if (!same(candidate.summaryUnits, base.summaryUnits)) {
    problems.push({ path: `${path}/summaryUnits`, message: `must equal the summary units of ${base.name}` });
  }
  return problems;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
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
