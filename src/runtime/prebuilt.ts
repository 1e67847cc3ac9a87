import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Options as AjvOptions, AnyValidateFunction } from 'ajv/dist/core.js';
import { FORMATTING_AJV_OPTIONS, FORMATTING_SCHEMA } from '../models/xlsx/formatting-checks.ts';
import { precomputeMoneyFormats } from '../models/xlsx/styles.ts';
import { childEnv } from './child-env.ts';
import { moduleUrl, plainExecArgv, startModuleWorker, tsExecArgv } from './module-url.ts';
import { killGroupOnExit } from './process-stop.ts';

/**
 * Function entry points prebuilt as plain JavaScript: a dedicated function process, a shared function
 * thread or a compute process started from one bundled file loads in a fraction of the time the TypeScript sources take
 * through tsx (measured in docs/benchmarks.md). `npm install` builds them (`prepare`); a server started
 * on edited sources rebuilds what is stale before it forks, so a process never runs old code.
 */
export const PREBUILT_ENTRIES = {
  // A dedicated function process (its main wires the embedded adapters; the process is runtime/function-process.ts).
  'function-process': 'src/entry/function-process.ts',
  // A shared function thread of the embedded platform (a worker thread: the pool starts its starter).
  'function-thread-embedded': 'src/entry/function-thread-embedded.ts',
  // A process of the compute pool (parts of big model runs), forked again after each idle timeout.
  'compute-process': 'src/runtime/compute-process.ts',
  // One step (copy, verify, remove) of a tenant's move: a worker thread per step.
  'move-worker': 'src/entry/move-worker.ts',
} as const;
export type PrebuiltEntry = keyof typeof PREBUILT_ENTRIES;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PREBUILT_DIR = join(ROOT, 'dist', 'functions');

/** What a bundle was built from: each input file's size and mtime, to tell when it is stale. */
type Manifest = Record<string, { size: number; mtimeMs: number }>;
/**
 * The manifest's entry for the Node that built the bundle: its money formats are worked out with that Node's
 * ICU data (`precomputed`), so a bundle built by another Node (nvm, an upgraded image) is stale.
 */
const BUILT_BY = `node ${process.version} icu ${process.versions.icu ?? 'none'}`;
/** The coarsest mtime of a file system a checkout may sit on (ext3, HFS+: 1 s; FAT: 2 s). */
const MTIME_RESOLUTION_MS = 2000;

/** This file, relative to the checkout: a bundle's input too (see `buildPrebuilt`). */
const BUILD_OPTIONS_SOURCE = 'src/runtime/prebuilt.ts';

const manifestPath = (entry: PrebuiltEntry) => join(PREBUILT_DIR, `${entry}.inputs.json`);
/**
 * What is forked (or started as a worker thread): the starter of `entry`, which runs its bundle with V8's
 * code cache. CommonJS: an ES module entry sets up Node's ES module loader before any code runs (15–20 ms of
 * the profile); forked through this starter a dedicated function was ready 8–17 ms sooner in two rounds of
 * three, the same in the third (docs/benchmarks.md "Session 13").
 */
export const prebuiltPath = (entry: PrebuiltEntry) => join(PREBUILT_DIR, `${entry}-start.cjs`);
/** The entry's code, one CommonJS file. */
export const bundlePath = (entry: PrebuiltEntry) => join(PREBUILT_DIR, `${entry}.cjs`);

/**
 * Whether the bundle of `entry` exists and every source and package it was built from is unchanged (size and
 * mtime).
 */
export function isFresh(entry: PrebuiltEntry): boolean {
  if (![prebuiltPath(entry), bundlePath(entry), manifestPath(entry)].every((p) => existsSync(p)))
    return false;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(entry), 'utf8')) as Manifest;
  } catch {
    // Unreadable (edited by hand, or left half written by an older build): stale and built again, not a
    // throw that made every start run the sources through tsx.
    return false;
  }
  if (typeof manifest !== 'object' || manifest === null || !(BUILT_BY in manifest)) return false;
  for (const [file, seen] of Object.entries(manifest)) {
    if (file.startsWith('node ')) {
      if (file !== BUILT_BY) return false;
      continue;
    }
    const path = join(ROOT, file);
    if (!existsSync(path)) return false;
    const now = statSync(path);
    if (now.size !== seen.size || now.mtimeMs !== seen.mtimeMs) return false;
  }
  return true;
}

/**
 * Bundles one entry with esbuild (dependencies stay in node_modules: native better-sqlite3 cannot be
 * bundled) and records its inputs. Synchronous: it runs once, before the first fork. Throws esbuild's
 * error, or when esbuild is not installed (`npm ci --omit=dev`).
 */
export function buildPrebuilt(entry: PrebuiltEntry): string {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  mkdirSync(PREBUILT_DIR, { recursive: true });
  const startedAt = Date.now();
  const result = buildBundle(esbuild, entry);
  const manifest: Manifest = { [BUILT_BY]: { size: 0, mtimeMs: 0 } };
  // The packages of node_modules go in the bundle too: each by its package.json, which an update rewrites
  // (`npm install ajv@x` runs no \`prepare\`, and the bundle ran the old version next to the server's new one).
  const inputs = new Set(
    result.inputs
      .filter((f) => !f.includes('-starter.ts'))
      .map((f) => (f.includes('node_modules/') ? packageJsonOf(f) : f)),
  );
  // This file too: it holds the build options, the banner and the starter's text (its stdin above, no
  // file of its own). Changed, e.g. to another output format, without renaming the outputs, the old bundles
  // would have stayed fresh and run.
  inputs.add(BUILD_OPTIONS_SOURCE);
  for (const file of inputs) {
    const { size, mtimeMs } = statSync(join(ROOT, file));
    // The sources are stated after esbuild read them: one saved in between (an editor while a server starts)
    // would be recorded as built and its old code run at every start after. Changed while the build ran (or
    // so close to it that a coarse file clock cannot tell), it is recorded as never seen: the next check
    // builds again. A time ahead of the clock (a skewed copy) is no edit of now, and would rebuild at every start.
    const duringBuild =
      mtimeMs >= startedAt - MTIME_RESOLUTION_MS && mtimeMs <= Date.now() + MTIME_RESOLUTION_MS;
    manifest[file] = { size, mtimeMs: duringBuild ? -1 : mtimeMs };
  }
  // Servers started side by side (tests) may build at once: each writes whole files and renames them, the
  // manifest last (a bundle is fresh only once it names what the bundle was built from).
  const tmp = `.${process.pid}-${Date.now()}.tmp`;
  const files: [string, Uint8Array | string][] = [
    ...result.outputs.map((o): [string, Uint8Array] => [o.path, o.contents]),
    [manifestPath(entry), JSON.stringify(manifest)],
  ];
  try {
    // The default mode: a server running as another user than `npm install` (root in a Docker build) must
    // read them, or every dedicated function starts through tsx.
    for (const [path, contents] of files) writeFileSync(path + tmp, contents);
    for (const [path] of files) renameSync(path + tmp, path);
  } catch (error) {
    // A full disk: what was written aside goes (each server start would leave more), and the caller runs
    // the sources through tsx.
    for (const [path] of files) rmSync(path + tmp, { force: true });
    throw error;
  }
  return prebuiltPath(entry);
}

/** The package.json of the package a file of node_modules belongs to (`node_modules/@scope/name/…` too). */
function packageJsonOf(file: string): string {
  const at = file.lastIndexOf('node_modules/') + 'node_modules/'.length;
  const [first = '', second = ''] = file.slice(at).split('/');
  return `${file.slice(0, at)}${first.startsWith('@') ? `${first}/${second}` : first}/package.json`;
}

/**
 * Work a first job would otherwise do in every new process, done once here: Ajv's standalone code of the
 * formatting shape check (about 30 ms to compile in a process) and the money formats of every currency in
 * the default locale (the first Intl.NumberFormat of a process costs about 10 ms); measured in
 * docs/benchmarks.md ("Session 6"). Top-level constants of the bundle's banner, under the global names
 * formatting-checks.ts and styles.ts look for, so they are set before any module of the bundle runs.
 * Plain script text; it needs `require` (Ajv's runtime helpers).
 */
export function precomputed(): string {
  const load = createRequire(import.meta.url);
  const { Ajv } = load('ajv') as typeof import('ajv');
  const standalone = (
    load('ajv/dist/standalone') as { default: (ajv: unknown, v: AnyValidateFunction) => string }
  ).default;
  const ajv = new Ajv({ ...FORMATTING_AJV_OPTIONS, code: { source: true } } satisfies AjvOptions);
  // CommonJS text (`module.exports = validate…`; Ajv's small runtime helpers come from node_modules).
  const code = standalone(ajv, ajv.compile(FORMATTING_SCHEMA));
  return [
    `const SILOPOOL_PRECOMPILED_FORMATTING_SHAPE = (() => { const module = { exports: {} }; ${code}; return module.exports; })();`,
    `const SILOPOOL_PRECOMPUTED_MONEY_FORMATS = ${JSON.stringify(precomputeMoneyFormats())};`,
  ].join('\n');
}

/**
 * Two files per entry: the entry's code as one CommonJS bundle (`{entry}.cjs`), and a small CommonJS
 * starter (`{entry}-start.cjs`, what is forked) that runs the bundle with V8's code cache (code-cache.ts).
 */
function buildBundle(esbuild: typeof import('esbuild'), entry: PrebuiltEntry) {
  const bundle = esbuild.buildSync({
    // Inputs are named relative to this (the manifest's keys): the checkout, not the server's working directory.
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, PREBUILT_ENTRIES[entry])],
    outfile: bundlePath(entry),
    bundle: true,
    platform: 'node',
    target: 'node20',
    // CommonJS: a script V8 can cache (`vm.Script`); Node 20 offers no code cache for ES modules.
    format: 'cjs',
    // Everything but the native SQLite binding goes in: resolving and loading a few hundred CommonJS files
    // of node_modules was the largest part of a cold start after tsx.
    external: ['better-sqlite3'],
    // The ES module build of a package where it has one: esbuild drops what is never imported from it
    // (most of OpenTelemetry's semantic conventions, for one), and a smaller file compiles faster.
    mainFields: ['module', 'main'],
    define: { 'import.meta.url': 'SILOPOOL_IMPORT_META_URL' },
    // No `import()` in a script run from V8's code cache (code-cache.ts): esbuild turns each into a
    // `require` (Node's built-in modules, here); release modules are imported through the starter's.
    supported: { 'dynamic-import': false },
    banner: {
      js: [
        "const SILOPOOL_IMPORT_META_URL = require('node:url').pathToFileURL(__filename).href;",
        precomputed(),
      ].join('\n'),
    },
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const starter = esbuild.buildSync({
    stdin: {
      contents: [
        "import { join } from 'node:path';",
        "import { DYNAMIC_IMPORT } from './src/core/dynamic-import.ts';",
        "import { runWithCodeCache } from './src/runtime/code-cache.ts';",
        `runWithCodeCache(join(__dirname, ${JSON.stringify(`${entry}.cjs`)}), {`,
        // A CommonJS file keeps `import()` (the target supports it): release modules are ES modules.
        '  dynamicImport: { name: DYNAMIC_IMPORT, load: (specifier) => import(specifier) },',
        '});',
      ].join('\n'),
      resolveDir: ROOT,
      sourcefile: `${entry}-starter.ts`,
      loader: 'ts',
    },
    absWorkingDir: ROOT,
    outfile: prebuiltPath(entry),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  return {
    outputs: [bundle.outputFiles[0]!, starter.outputFiles[0]!],
    inputs: [...Object.keys(bundle.metafile.inputs), ...Object.keys(starter.metafile.inputs)],
  };
}

/** Each entry's answer, and the identity of the bundle it was checked against (see `bundleIdentity`). */
const checked = new Map<PrebuiltEntry, { path: string | undefined; bundle?: string | undefined }>();

/** The bundle file as written: a build renames a new file over it, so its inode and mtime change. */
function bundleIdentity(entry: PrebuiltEntry): string | undefined {
  try {
    const { ino, size, mtimeMs } = statSync(bundlePath(entry));
    return `${ino}:${size}:${mtimeMs}`;
  } catch {
    return undefined;
  }
}

/**
 * The prebuilt file of `entry`, rebuilt first when a source it was built from changed; undefined when
 * there is none and esbuild is not installed (the caller then runs the TypeScript source through tsx).
 * Checked once per process, and again when its files are gone.
 */
export function prebuiltEntry(entry: PrebuiltEntry): string | undefined {
  const known = checked.get(entry);
  if (known && known.path === undefined) return undefined;
  // A bundle removed since (`git clean`, `rm -rf dist` while the server runs) is checked and built again:
  // forked missing, every dedicated function failed and a shared thread was replaced ten times a second.
  const now = known?.path && existsSync(known.path) ? bundleIdentity(entry) : undefined;
  if (known?.path && now !== undefined) {
    // Built again by someone else (`npm run build:functions`, `npm install`, another server on this
    // checkout): what starts from now on runs that code next to this server's, which the operator must know.
    if (now !== known.bundle) {
      known.bundle = now;
      process.emitWarning(
        `The prebuilt ${entry} bundle was built again while this server runs: what starts from it now runs that code next to this server's. Restart the server to run one version.`,
        { code: 'SILOPOOL_PREBUILT_REBUILT' },
      );
    }
    return known.path;
  }
  let path: string | undefined;
  try {
    path = isFresh(entry) ? prebuiltPath(entry) : buildPrebuilt(entry);
  } catch (error) {
    // No esbuild (a production install without dev dependencies) and no fresh bundle, or a build that failed
    // (a read-only or full dist/): tsx it is, and the operator is told, or every cold start is slower unseen.
    path = undefined;
    process.emitWarning(
      `No prebuilt ${entry} bundle (${String((error as Error)?.message ?? error).split('\n')[0]}): its functions start from the TypeScript sources through tsx, slower. \`npm run build:functions\` builds it.`,
      { code: 'SILOPOOL_NO_PREBUILT' },
    );
  }
  checked.set(entry, { path, ...(path ? { bundle: bundleIdentity(entry) } : {}) });
  return path;
}

/**
 * The one place that chooses between an entry's prebuilt file and its TypeScript source. Starts a worker
 * thread on `entry`'s prebuilt starter, or, when there is none (no esbuild, no fresh bundle) or `entry` is
 * undefined, on the TypeScript module `source` (resolved against `base`, an `import.meta.url`) through tsx.
 * Throws what `new Worker` throws.
 */
export function startPrebuiltWorker(
  entry: PrebuiltEntry | undefined,
  source: { relative: string; base: string },
  options: WorkerOptions,
): Worker {
  const prebuilt = entry && prebuiltEntry(entry);
  return prebuilt
    ? startBundledWorker(prebuilt, options)
    : startModuleWorker(moduleUrl(source.relative, source.base), options);
}

/** The flags of a bundled thread once worked out (see `startBundledWorker`); null: the parent's, inherited. */
let threadExecArgv: string[] | null | undefined;

/**
 * A thread inherits its parent's flags, `--import tsx` with them: each bundled thread loaded tsx before its
 * bundle (about 0.1 s a start, the start-up the bundle is for). It gets the parent's without tsx, less the
 * process-wide ones a thread refuses when they are named (`--max-old-space-size`: their effect is the
 * process's anyway), found from Node's refusal once; when they cannot be told apart, the parent's as before.
 */
function startBundledWorker(file: string, options: WorkerOptions): Worker {
  if (options.execArgv || threadExecArgv === null) return new Worker(file, options);
  let execArgv = threadExecArgv ?? plainExecArgv();
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const worker = new Worker(file, { ...options, execArgv });
      threadExecArgv = execArgv;
      return worker;
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
      // "Initiated Worker with invalid execArgv flags: --max-old-space-size=100, --title=x"
      const refused = new Set(
        String((error as Error).message)
          .split(': ')
          .slice(1)
          .join(': ')
          .split(', '),
      );
      const kept = execArgv.filter((arg) => !refused.has(arg));
      if (kept.length === execArgv.length) break;
      execArgv = kept;
    }
  }
  threadExecArgv = null;
  return new Worker(file, options);
}

/**
 * Forks `entry`'s prebuilt starter with the parent's flags minus tsx's loader, or, when there is none,
 * the TypeScript module `source` with tsx's loader. `extraExecArgv` (e.g. `--max-old-space-size=N`) comes
 * after either set. A `detached` child leads a process group of its own, which ends with it: what is left
 * of the group when it exits (processes its code spawned) is killed (`killGroupOnExit`). Throws what
 * `child_process.fork` throws synchronously (EMFILE, ENOMEM). Its environment is `options.env`, else the
 * server's without its secrets (`childEnv`: both kinds of process this forks run release model code).
 */
export function forkPrebuilt(
  entry: PrebuiltEntry,
  source: { relative: string; base: string },
  args: readonly string[],
  options: Omit<ForkOptions, 'execArgv'> & { extraExecArgv?: readonly string[] },
): ChildProcess {
  const { extraExecArgv = [], ...forkOptions } = options;
  const prebuilt = prebuiltEntry(entry);
  const file = prebuilt ?? fileURLToPath(moduleUrl(source.relative, source.base));
  const execArgv = [...(prebuilt ? plainExecArgv() : tsExecArgv()), ...extraExecArgv];
  // The server's environment without its secrets, unless the caller names one (childEnv).
  const child = fork(file, [...args], { env: childEnv(), ...forkOptions, execArgv });
  // Whyever it exits (a crash, a stop): the host counts it gone, so nothing it started may run on.
  if (forkOptions.detached) killGroupOnExit(child);
  return child;
}
