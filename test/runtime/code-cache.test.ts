import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A bundle directory: `app.cjs` (prints its answer and whether `require`/`__filename` work) and a starter. */
function fixture(answer: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-code-cache-'));
  dirs.push(dir);
  writeApp(dir, answer);
  writeFileSync(
    join(dir, 'start.ts'),
    [
      `import { runWithCodeCache, WARM_EVENT } from ${JSON.stringify(join(ROOT, 'src/runtime/code-cache.ts'))};`,
      `const used = runWithCodeCache(${JSON.stringify(join(dir, 'app.cjs'))}, {`,
      "  dynamicImport: { name: Symbol.for('test.import'), load: (s) => import(s) },",
      '});',
      'console.log(JSON.stringify({ used }));',
      'if (process.argv.includes("--warm")) process.emit(WARM_EVENT);',
    ].join('\n'),
  );
  return dir;
}

function writeApp(dir: string, answer: string): void {
  writeFileSync(
    join(dir, 'app.cjs'),
    [
      "const { basename } = require('node:path');",
      `function answer() { return ${JSON.stringify(answer)}; }`,
      'console.log(JSON.stringify({ answer: answer(), file: basename(__filename) }));',
    ].join('\n'),
  );
}

/** Runs the starter in a new process; its two lines of output. */
function start(
  dir: string,
  flags: string[] = [],
  warm = true,
): { answer: string; file: string; used: boolean } {
  const out = execFileSync(
    process.execPath,
    [...flags, '--import', 'tsx', join(dir, 'start.ts'), ...(warm ? ['--warm'] : [])],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const [app, starter] = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { ...app, ...starter };
}

const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));

describe('prebuilt bundles run with V8 code cache', () => {
  it('compiles the first time, writes the cache once warm, and the next process uses it', () => {
    const dir = fixture('first');
    expect(start(dir)).toEqual({ answer: 'first', file: 'app.cjs', used: false });
    expect(caches(dir)).toHaveLength(1);
    expect(start(dir)).toEqual({ answer: 'first', file: 'app.cjs', used: true });
  });

  it("imports an ES module through the starter's import(), also when run from the cache", () => {
    const dir = fixture('esm');
    writeFileSync(join(dir, 'model.mjs'), 'await Promise.resolve();\nexport default 42;\n');
    writeFileSync(
      join(dir, 'app.cjs'),
      [
        "const load = globalThis[Symbol.for('test.import')];",
        `load(${JSON.stringify(join(dir, 'model.mjs'))}).then((m) => console.log(JSON.stringify({ answer: String(m.default), file: 'app.cjs' })));`,
      ].join('\n'),
    );
    for (const used of [false, true]) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'start.ts'), '--warm'], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      expect(
        out
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual([{ used }, { answer: '42', file: 'app.cjs' }]);
    }
  });

  it('writes the cache at exit when the process never warms up', () => {
    const dir = fixture('cold');
    expect(start(dir, [], false).used).toBe(false);
    expect(caches(dir)).toHaveLength(1);
    expect(start(dir, [], false).used).toBe(true);
  });

  it('never runs a cache of other code, even of the same length (V8 checks only the length)', () => {
    const dir = fixture('aaaa');
    start(dir);
    writeApp(dir, 'bbbb');
    // The new bundle is run from its own source, and its cache replaces the old one.
    expect(start(dir)).toEqual({ answer: 'bbbb', file: 'app.cjs', used: false });
    expect(caches(dir)).toHaveLength(1);
    expect(start(dir)).toEqual({ answer: 'bbbb', file: 'app.cjs', used: true });
  });

  it('keeps one cache per set of process flags (V8 rejects a cache made under other flags)', () => {
    const dir = fixture('flags');
    start(dir, ['--max-old-space-size=96']);
    expect(start(dir, ['--max-old-space-size=128']).used).toBe(false);
    expect(caches(dir)).toHaveLength(2);
    expect(start(dir, ['--max-old-space-size=96']).used).toBe(true);
    expect(start(dir, ['--max-old-space-size=128']).used).toBe(true);
  });

  it('compiles from source when the cache is damaged, and replaces it', () => {
    const dir = fixture('damaged');
    start(dir);
    const [cache] = caches(dir);
    const bytes = readFileSync(join(dir, cache!));
    bytes.fill(7, 64, 128);
    writeFileSync(join(dir, cache!), bytes);
    expect(start(dir)).toEqual({ answer: 'damaged', file: 'app.cjs', used: false });
    expect(start(dir).used).toBe(true);
  });
});
