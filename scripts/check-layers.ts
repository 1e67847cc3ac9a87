import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import madge from 'madge';

/** What a folder of `src/` is in the layer rule (see `LAYERS`). */
export interface Layer {
  /** Its place in ARCHITECTURE.md "Layers": a folder imports only folders of its own rank or lower. */
  rank: number;
  /** When set, only these folders (and the folder itself) may import it, whatever their rank. */
  importedOnlyBy?: readonly string[];
  /** Folders of a higher rank it may import all the same. */
  alsoImports?: readonly string[];
  /** Folders of a lower rank it must not import all the same. */
  mayNotImport?: readonly string[];
}

/**
 * The layer rule of ARCHITECTURE.md ("Layers", dependencies point down only) as a table over the folders of
 * `src/`. Every exception to "own rank or lower" is a field of this table, none is code:
 * - `adapters/` (embedded SQLite and files, AWS SDK) is wiring's to choose: only the entry points may import
 *   it. `observability/` shares its rank and may not either: the functions, the runtime, the API and the
 *   control plane use observability, and through it would reach SQLite or the AWS SDK; an adapter may use
 *   observability (the embedded operation store erases an offboarded tenant's local spans). `client/` is
 *   left out: the typed HTTP client is published to users and must carry no adapter.
 * - `api/` and `control/` keep ARCHITECTURE.md's numbers, but the dependency goes from the API to the control
 *   plane: routes call its use cases (`submitJob`, onboarding, moves, statements), and what the API asks of
 *   the control plane at run time is a port (`ports/control-hooks.ts`). So `api/` may import `control/`,
 *   and `control/` must not import `api/`: the path from submit to workbook reads in one direction.
 */
export const LAYERS: Readonly<Record<string, Layer>> = {
  core: { rank: 1 },
  models: { rank: 2 },
  ports: { rank: 3 },
  adapters: { rank: 4, importedOnlyBy: ['adapters', 'entry', 'cli'] },
  observability: { rank: 4 },
  functions: { rank: 5 },
  runtime: { rank: 6 },
  api: { rank: 7, alsoImports: ['control'] },
  control: { rank: 8, mayNotImport: ['api'] },
  entry: { rank: 9 },
  cli: { rank: 9 },
  client: { rank: 9 },
};

export interface LayerViolation {
  from: string;
  to: string;
}

/** The folder of `src/` a path relative to it is in (`core/job.ts` → `core`). */
const folderOf = (path: string) => path.split('/')[0] ?? '';

/**
 * Why folder `from` may not import folder `to` under `layers`, or undefined when it may (or either is
 * in no layer: see `unplacedFiles`).
 */
export function ruleBroken(
  from: string,
  to: string,
  layers: Readonly<Record<string, Layer>> = LAYERS,
): string | undefined {
  if (from === to || !Object.hasOwn(layers, from) || !Object.hasOwn(layers, to)) return undefined;
  const source = layers[from]!;
  const target = layers[to]!;
  if (target.importedOnlyBy && !target.importedOnlyBy.includes(from)) {
    return `${to}/ may be imported only by ${target.importedOnlyBy.map((f) => `${f}/`).join(', ')}`;
  }
  if (source.mayNotImport?.includes(to)) return `${from}/ must not import ${to}/ (see LAYERS)`;
  if (target.rank > source.rank && !source.alsoImports?.includes(to)) {
    return `${from}/ (layer ${source.rank}) imports ${to}/ (layer ${target.rank}): dependencies point down only`;
  }
  return undefined;
}

/**
 * Every import that breaks the layer rule, in a module graph keyed by paths relative to the source root
 * (`control/hooks.ts` → [`api/deps.ts`]), as madge's `obj()` returns it. A file of a folder the table does
 * not name is in no layer here; `unplacedFiles` names those.
 */
export function layerViolations(
  graph: Record<string, string[]>,
  layers: Readonly<Record<string, Layer>> = LAYERS,
): LayerViolation[] {
  return Object.entries(graph).flatMap(([from, imports]) =>
    imports
      .filter((to) => ruleBroken(folderOf(from), folderOf(to), layers) !== undefined)
      .map((to) => ({ from, to })),
  );
}

/**
 * Files of the graph in no layer: at the source root, or in a folder `layers` does not name. A new folder
 * must be given its rank before the check can judge its imports.
 */
export function unplacedFiles(
  graph: Record<string, string[]>,
  layers: Readonly<Record<string, Layer>> = LAYERS,
): string[] {
  return Object.keys(graph).filter((path) => !path.includes('/') || !Object.hasOwn(layers, folderOf(path)));
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
  const graph = await importGraph(srcDir, process.argv[3]);
  const shown = (path: string) => relative(process.cwd(), resolve(srcDir, path));
  const violations = layerViolations(graph);
  const unplaced = unplacedFiles(graph);
  for (const v of violations) {
    const why = ruleBroken(folderOf(v.from), folderOf(v.to));
    process.stderr.write(`${shown(v.from)} imports ${v.to}: ${why}\n`);
  }
  for (const path of unplaced) {
    process.stderr.write(
      `${shown(path)} is in no layer: give its folder a rank in LAYERS (scripts/check-layers.ts)\n`,
    );
  }
  if (violations.length > 0 || unplaced.length > 0) {
    process.stderr.write(
      `${violations.length} import(s) against the layer rule, ${unplaced.length} file(s) in no layer (see LAYERS)\n`,
    );
    process.exit(1);
  }
  const table = Object.entries(LAYERS)
    .map(([name, layer]) => `${name} ${layer.rank}`)
    .join(', ');
  process.stdout.write(`Every import of ${Object.keys(graph).length} files points down (${table}).\n`);
}
