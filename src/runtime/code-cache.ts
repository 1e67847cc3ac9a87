import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';

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
 * by a hash of the bundle's bytes, Node's version and the process's flags: a cache never meets other code.
 * The first process of each kind writes it (`bundle.<key>.v8cache`, whole or not at all: written aside and
 * renamed) when the bundle emits `WARM_EVENT` on `process` (a function process does after its first job),
 * or at exit if it never does, so the cache also holds what a first job compiled (the model, the workbook
 * writer); caches of earlier bundles are removed then. A missing, unwritable or rejected cache only costs
 * the compile. V8 does not check a cache's bytes in a release build (a damaged one crashed the process in
 * our test), so the file starts with the SHA-256 of the cache and a cache that does not match it is unused.
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
  const bundleHash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const flagsHash = createHash('sha256')
    .update(JSON.stringify([process.version, process.arch, process.execArgv]))
    .digest('hex')
    .slice(0, 16);
  const cachePath = `${bundlePath}.${bundleHash}-${flagsHash}.v8cache`;
  const cachedData = readCache(cachePath);
  const script = new Script(Module.wrap(source.toString('utf8')), {
    filename: bundlePath,
    ...(cachedData ? { cachedData } : {}),
  });
  const used = cachedData !== undefined && !script.cachedDataRejected;
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
  if (!used) {
    const write = () => {
      process.off(WARM_EVENT, write);
      process.off('exit', write);
      writeCache(script, bundlePath, cachePath, bundleHash);
    };
    process.on(WARM_EVENT, write);
    process.on('exit', write);
  }
  return used;
}

const DIGEST_BYTES = 32;

/** The cache's bytes when the file is whole (its SHA-256 prefix matches), else undefined. */
function readCache(cachePath: string): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(cachePath);
  } catch {
    return undefined;
  }
  const data = file.subarray(DIGEST_BYTES);
  const digest = createHash('sha256').update(data).digest();
  return file.length > DIGEST_BYTES && digest.equals(file.subarray(0, DIGEST_BYTES)) ? data : undefined;
}

function writeCache(script: Script, bundlePath: string, cachePath: string, bundleHash: string): void {
  try {
    // Per thread too: the function threads of one process start from one bundle and may write at once.
    const aside = `${cachePath}.${process.pid}-${threadId}.tmp`;
    const data = script.createCachedData();
    writeFileSync(aside, Buffer.concat([createHash('sha256').update(data).digest(), data]), { mode: 0o600 });
    renameSync(aside, cachePath);
    const prefix = `${basename(bundlePath)}.`;
    for (const name of readdirSync(dirname(bundlePath))) {
      if (name.startsWith(prefix) && name.endsWith('.v8cache') && !name.startsWith(`${prefix}${bundleHash}-`))
        rmSync(join(dirname(bundlePath), name), { force: true });
    }
  } catch {
    // A read-only install: every process compiles, as without a cache.
  }
}
