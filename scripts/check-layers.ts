import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import madge from 'madge';

/**
 * Layers below the API (ARCHITECTURE.md "Layers"): none of them may import `src/api`, so the path from
 * submit to workbook reads in one direction. `entry` and `cli` sit above the API and may.
 */
export const BELOW_API = ['control', 'core', 'ports', 'adapters', 'runtime', 'functions', 'models'] as const;

export interface LayerViolation {
  from: string;
  to: string;
}

/**
 * Imports from a layer below the API into `api/`, in a module graph keyed by paths relative to the
 * source root (`control/hooks.ts` → [`api/deps.ts`]), as madge's `obj()` returns it.
 */
export function layerViolations(graph: Record<string, string[]>): LayerViolation[] {
  const layerOf = (path: string) => path.split('/')[0] ?? '';
  const below = new Set<string>(BELOW_API);
  return Object.entries(graph).flatMap(([from, imports]) =>
    below.has(layerOf(from)) ? imports.filter((to) => layerOf(to) === 'api').map((to) => ({ from, to })) : [],
  );
}

/** The import graph of every `.ts` file under `srcDir` (type-only imports included: they couple too). */
export async function importGraph(srcDir: string, tsConfig?: string): Promise<Record<string, string[]>> {
  const result = await madge(srcDir, {
    fileExtensions: ['ts'],
    ...(tsConfig ? { tsConfig } : {}),
    detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
  });
  return result.obj();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const srcDir = resolve(process.argv[2] ?? 'src');
  const violations = layerViolations(await importGraph(srcDir, process.argv[3]));
  if (violations.length > 0) {
    for (const v of violations) {
      process.stderr.write(`${relative(process.cwd(), resolve(srcDir, v.from))} imports ${v.to}\n`);
    }
    process.stderr.write(`${violations.length} import(s) from below the API into src/api (see BELOW_API)\n`);
    process.exit(1);
  }
  process.stdout.write(`No layer below src/api imports it (${BELOW_API.join(', ')}).\n`);
}
