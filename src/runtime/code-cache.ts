import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, Module } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** Emitted on `process` by a bundle once it has done its first piece of work (see `runWithCodeCache`). */
export const WARM_EVENT = 'silopool:warm';

/**
 * Runs a CommonJS bundle with V8's code cache (`vm.Script` `cachedData`): a process started from a cached
 * bundle skips parsing and compiling what the cache holds. Node 22's `module.enableCompileCache()` does
 * this for every module; Node 20 has no such switch, so the one bundle a dedicated function process loads
 * is compiled here (docs/benchmarks.md "Session 9": fork to ready 109–115 → 88–95 ms for the bundle alone,
 * 150 → 127 ms in the server).
 *
 * V8 accepts a cache only for the same V8 version and the same flags (a process started with another
 * `--max-old-space-size` rejects it), and checks the source by its length only, so the cache file is named
 * by a hash of the bundle's bytes, Node's version and the process's flags (its `execArgv` and
 * `NODE_OPTIONS`): a cache never meets other code. The first process of each kind writes it
 * (`bundle.<key>.v8cache`, whole or not at all: written aside and renamed) when the bundle emits
 * `WARM_EVENT` on `process` (a function process does after its first job), or at exit if it never does
 * (then the first process started from that cache that works writes it again), so the cache also holds what
 * a first job compiled (the model, the workbook writer); caches of earlier bundles and files aside that a
 * killed writer left are removed then. A process whose bundle was rebuilt while it
 * ran writes nothing. A missing, unwritable or rejected cache only costs the compile. V8 does not check a
 * cache's bytes in a release build (a damaged one crashed the process in our test), so the file starts
 * with the SHA-256 of its key and bytes, and a cache that does not match it is unused.
 *
 * @param bundlePath absolute path of the CommonJS bundle
 * @param options.dynamicImport a global (`name`) under which the bundle finds `import()` of the caller
 * @returns whether a cache was used (false: compiled from source)
 */
export function runWithCodeCache(
  bundlePath: string,
  options: { dynamicImport?: { name: symbol; load(specifier: string): Promise<unknown> } } = {},
): boolean {
  // A cached script cannot call `import()` on Node 20 (its dynamic-import callback is lost with the cache:
  // ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so bundles are built without it (prebuilt.ts) and the one
  // place that must load an ES module at run time (a release's model) uses the starter's, set here.
  if (options.dynamicImport)
    (globalThis as Record<symbol, unknown>)[options.dynamicImport.name] = options.dynamicImport.load;
  const source = readFileSync(bundlePath);
  const bundleHash = hash16(source);
  // V8 flags may come from NODE_OPTIONS as well (`--max-semi-space-size`): keyed by execArgv alone, two
  // kinds of process would reject and overwrite each other's cache at every start.
  const flagsHash = hash16(
    JSON.stringify([process.version, process.arch, process.execArgv, process.env.NODE_OPTIONS ?? '']),
  );
  const key = `${bundleHash}-${flagsHash}`;
  const file: CacheFile = {
    bundlePath,
    bundleHash,
    key,
    path: `${bundlePath}.${key}.v8cache`,
    maxBytes: Math.max(MIN_CACHE_LIMIT, CACHE_LIMIT_PER_SOURCE_BYTE * source.length),
  };
  const cache = readCache(file);
  const script = new Script(Module.wrap(source.toString('utf8')), {
    filename: bundlePath,
    ...(cache ? { cachedData: cache.data } : {}),
  });
  const used = cache !== undefined && !script.cachedDataRejected;
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  wrapper.call(
    module.exports,
    module.exports,
    createRequire(bundlePath),
    module,
    bundlePath,
    dirname(bundlePath),
  );
  // A cache written at exit by a process that never worked (stopped idle, or its first job crashed) lacks
  // what a first job compiles: the first process that starts from it and works replaces it.
  if (!used || !cache.warm) {
    const write = (warm: boolean) => {
      process.off(WARM_EVENT, onWarm);
      process.off('exit', onExit);
      writeCache(script, file, warm);
    };
    const onWarm = () => write(true);
    // At exit, only a process that compiled from source has something to give: a cache without a first job.
    const onExit = () => {
      if (!used) write(false);
    };
    process.on(WARM_EVENT, onWarm);
    process.on('exit', onExit);
  }
  return used;
}

/** Where a bundle's cache for this process's flags goes, and what it must be. */
interface CacheFile {
  bundlePath: string;
  bundleHash: string;
  key: string;
  path: string;
  maxBytes: number;
}

const DIGEST_BYTES = 32;
/** After the digest, one byte: 1 when the cache was made after the process's first work, else 0. */
const HEADER_BYTES = DIGEST_BYTES + 1;
/**
 * No cache is read or written beyond this: a larger file is no cache of the bundle, and reading one whole
 * would hold its size outside the V8 heap of a function with little memory. Measured: 0.8 bytes of cache
 * per byte of the function bundle after its first job (0.28 before it); 6 for a small test bundle whose
 * every function had run.
 */
const CACHE_LIMIT_PER_SOURCE_BYTE = 16;
const MIN_CACHE_LIMIT = 16 * 1024 * 1024;
/** A file aside older than this was left by a writer that was killed (a write takes milliseconds). */
const ABANDONED_MS = 10 * 60_000;

const hash16 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/** Over the key too: a whole cache of other code under this name (a copy, a link) is not this one's. */
const digestOf = (key: string, warm: boolean, data: Buffer) =>
  createHash('sha256')
    .update(key)
    .update(warm ? '1' : '0')
    .update(data)
    .digest();

function currentHash(bundlePath: string): string | undefined {
  try {
    return hash16(readFileSync(bundlePath));
  } catch {
    return undefined;
  }
}

/** The cache's bytes when the file is a whole cache for `key` (its SHA-256 prefix matches), else undefined. */
function readCache(file: CacheFile): { data: Buffer; warm: boolean } | undefined {
  let fd: number | undefined;
  let bytes: Buffer;
  try {
    // Without blocking, and a regular file only: a FIFO or a device under the cache's name would hang the
    // start or never end the read.
    fd = openSync(file.path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    const stats = fstatSync(fd);
    if (!stats.isFile() || stats.size > file.maxBytes) return undefined;
    bytes = readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (bytes.length <= HEADER_BYTES) return undefined;
  const warm = bytes[DIGEST_BYTES] === 1;
  const data = bytes.subarray(HEADER_BYTES);
  return digestOf(file.key, warm, data).equals(bytes.subarray(0, DIGEST_BYTES)) ? { data, warm } : undefined;
}

// The cache is an optimisation: every failure below leaves the process compiling, as without a cache, and
// none may fail the process or its job, so they end the attempt without an error.
function writeCache(script: Script, file: CacheFile, warm: boolean): void {
  const aside = `${file.path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  let fd: number | undefined;
  try {
    // Opened first: a read-only install (EACCES, EROFS) costs nothing more than this. The default mode, as
    // the bundle's: a cache made by one user (a smoke test as root) serves a server running as another.
    fd = openSync(aside, 'wx');
  } catch {
    return;
  }
  // Rebuilt since this process read it (npm install while functions run): its cache would be of code no
  // new process runs, and writing it would remove the new bundle's.
  const current = currentHash(file.bundlePath) === file.bundleHash;
  let renamed = false;
  try {
    if (current) {
      const data = script.createCachedData();
      // One no process would read: none is written, so it does not replace a usable one at every start.
      if (data.length + HEADER_BYTES > file.maxBytes) throw new RangeError('code cache over its limit');
      writeFileSync(fd, Buffer.concat([digestOf(file.key, warm, data), Buffer.of(warm ? 1 : 0), data]));
      closeSync(fd);
      fd = undefined;
      renameSync(aside, file.path);
      renamed = true;
    }
  } catch {
    // A full disk, or a directory under the cache's name: the process goes on without writing a cache.
  } finally {
    if (fd !== undefined) attempt(() => closeSync(fd!));
    // What was written aside goes, not to pile up.
    if (!renamed) attempt(() => unlinkSync(aside));
  }
  if (current) removeLeftovers(file);
}

/** Caches of earlier bundles, and files aside older than `ABANDONED_MS` (a build's included). */
function removeLeftovers(file: CacheFile): void {
  const dir = dirname(file.bundlePath);
  const prefix = `${basename(file.bundlePath)}.`;
  const ours = `${prefix}${file.bundleHash}-`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const path = join(dir, name);
    // One at a time: a name another process removed meanwhile, or a directory, does not stop the rest.
    if (name.endsWith('.v8cache') && !name.startsWith(ours)) attempt(() => unlinkSync(path));
    else if (name.endsWith('.tmp'))
      attempt(() => now - statSync(path).mtimeMs > ABANDONED_MS && unlinkSync(path));
  }
}

function attempt(action: () => unknown): void {
  try {
    action();
  } catch {
    // See writeCache: the cache's housekeeping never fails the process.
  }
}
