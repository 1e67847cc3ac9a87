import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Function entry points prebuilt as plain JavaScript: a dedicated function process started from one
 * bundled file loads in a fraction of the time the TypeScript sources take
 * through tsx (measured in docs/benchmarks.md). `npm install` builds them (`prepare`); a server started
 * on edited sources rebuilds what is stale before it forks, so a process never runs old code.
 */
export const PREBUILT_ENTRIES = {
  'function-process': 'src/runtime/function-process.ts',
} as const;
export type PrebuiltEntry = keyof typeof PREBUILT_ENTRIES;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PREBUILT_DIR = join(ROOT, 'dist', 'functions');

/** What a bundle was built from: each input file's size and mtime, to tell when it is stale. */
type Manifest = Record<string, { size: number; mtimeMs: number }>;

const manifestPath = (entry: PrebuiltEntry) => join(PREBUILT_DIR, `${entry}.inputs.json`);
export const prebuiltPath = (entry: PrebuiltEntry) => join(PREBUILT_DIR, `${entry}.mjs`);

/** Whether the bundle of `entry` exists and every source it was built from is unchanged (size and mtime). */
export function isFresh(entry: PrebuiltEntry): boolean {
  if (!existsSync(prebuiltPath(entry)) || !existsSync(manifestPath(entry))) return false;
  const manifest = JSON.parse(readFileSync(manifestPath(entry), 'utf8')) as Manifest;
  for (const [file, seen] of Object.entries(manifest)) {
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
  const result = esbuild.buildSync({
    entryPoints: [join(ROOT, PREBUILT_ENTRIES[entry])],
    outfile: prebuiltPath(entry),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Everything but the native SQLite binding goes in: resolving and loading a few hundred CommonJS files
    // of node_modules was the largest part of a cold start after tsx.
    external: ['better-sqlite3'],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const manifest: Manifest = {};
  for (const file of Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/'))) {
    const { size, mtimeMs } = statSync(join(ROOT, file));
    manifest[file] = { size, mtimeMs };
  }
  // Servers started side by side (tests) may build at once: each writes whole files and renames them.
  const tmp = `.${process.pid}-${Date.now()}.tmp`;
  writeFileSync(prebuiltPath(entry) + tmp, result.outputFiles[0]!.contents);
  writeFileSync(manifestPath(entry) + tmp, JSON.stringify(manifest));
  renameSync(prebuiltPath(entry) + tmp, prebuiltPath(entry));
  renameSync(manifestPath(entry) + tmp, manifestPath(entry));
  return prebuiltPath(entry);
}

const checked = new Map<PrebuiltEntry, string | undefined>();

/**
 * The prebuilt file of `entry`, rebuilt first when a source it was built from changed; undefined when
 * there is none and esbuild is not installed (the caller then runs the TypeScript source through tsx).
 * Checked once per process.
 */
export function prebuiltEntry(entry: PrebuiltEntry): string | undefined {
  if (checked.has(entry)) return checked.get(entry);
  let path: string | undefined;
  try {
    path = isFresh(entry) ? prebuiltPath(entry) : buildPrebuilt(entry);
  } catch {
    // No esbuild (a production install without dev dependencies) and no fresh bundle: tsx it is.
    path = undefined;
  }
  checked.set(entry, path);
  return path;
}
