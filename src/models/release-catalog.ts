import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importModule } from '../core/dynamic-import.ts';
import type { FieldProblem } from '../core/errors.ts';
import {
  BUILTIN_RELEASE,
  MODEL_VERSION_PATTERN,
  RELEASE_ID_PATTERN,
  type ReleasePointer,
  unreadableReleases,
} from '../core/release.ts';
import { ReleaseContractError } from './errors.ts';
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

export interface LoadedRelease {
  id: string;
  manifest: ReleaseManifest;
  /** Every model at the version this release runs (built-in ones included). */
  models: ReadonlyMap<string, ModelDefinition>;
  variants: ReadonlyMap<string, ModelVariant>;
}

export interface ReleaseCatalog {
  /**
   * Every release in the directory, the built-in one first; a release there that fails to load (or to be
   * read) is in `invalid`, not `releases`. No directory: the built-in one alone. Throws the file system's
   * error when the directory is there but cannot be listed.
   */
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
 * `pointer`'s, given by the entry point's wiring: embedded `{dir}/current.json`
 * (`adapters/embedded/release-pointer.ts`), on AWS a DynamoDB item (the bundle is read-only).
 */
export function openReleaseCatalog(dir: string, pointer: ReleasePointer): ReleaseCatalog {
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
      // No folder is no release; a folder that cannot be read is not "every release withdrawn" (a caller
      // would move every tenant off its release): that error is thrown.
      const names = await readdir(dir).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException)?.code === 'ENOENT') return [] as string[];
        throw unreadableReleases(dir, error);
      });
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

/** Whether a file-system error says the path is not there (as opposed to there but unreadable). */
function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The manifest of release `id`; undefined only when it is not there (`ENOENT`, `ENOTDIR`: withdrawn or never
 * published). Throws `ReleaseContractError` when it is there but cannot be read or parsed: such a release is
 * `invalid` in `list()`, never taken for withdrawn.
 */
async function readManifest(dir: string, id: string): Promise<ReleaseManifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, id, 'release.json'), 'utf8');
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw new ReleaseContractError(id, [
      { path: '/release.json', message: `cannot be read: ${String((error as Error).message ?? error)}` },
    ]);
  }
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
