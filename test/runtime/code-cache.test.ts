import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
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
      'if (process.argv.includes("--rss")) console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));',
      // A process that warms up only when told (its stdin closes): one still running while the bundle is rebuilt.
      'if (process.argv.includes("--warm-on-stdin")) process.stdin.on("end", () => process.emit(WARM_EVENT)).resume();',
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
  env: Record<string, string> = {},
): { answer: string; file: string; used: boolean } {
  const out = execFileSync(
    process.execPath,
    [...flags, '--import', 'tsx', join(dir, 'start.ts'), ...(warm ? ['--warm'] : [])],
    // A start that hangs (a cache file that blocks its reader) fails the test instead of stalling it.
    { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '', ...env } },
  );
  const [app, starter] = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return { ...app, ...starter };
}

const caches = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

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

  it('keeps one cache per NODE_OPTIONS too (V8 flags given there make V8 reject a cache made without them)', () => {
    const dir = fixture('node-options');
    const small = { NODE_OPTIONS: '--max-old-space-size=96' };
    const large = { NODE_OPTIONS: '--max-old-space-size=128' };
    start(dir, [], true, small);
    expect(start(dir, [], true, large).used).toBe(false);
    expect(start(dir, [], true, small).used).toBe(true);
    expect(start(dir, [], true, large).used).toBe(true);
  });

  it("never runs the cache of other code put under this bundle's name (a copy, a link, a restored backup)", () => {
    const dir = fixture('aaaa');
    start(dir);
    const old = readFileSync(join(dir, caches(dir)[0]!));
    writeApp(dir, 'bbbb');
    start(dir);
    // Same length and flags: V8 itself would run the old code.
    writeFileSync(join(dir, caches(dir)[0]!), old);
    expect(start(dir)).toEqual({ answer: 'bbbb', file: 'app.cjs', used: false });
    expect(start(dir).used).toBe(true);
  });

  it('leaves no file behind when the cache cannot be put in place (a directory has its name)', () => {
    const dir = fixture('blocked');
    start(dir);
    const [cache] = caches(dir);
    rmSync(join(dir, cache!));
    mkdirSync(join(dir, cache!));
    for (let i = 0; i < 3; i++)
      expect(start(dir)).toEqual({ answer: 'blocked', file: 'app.cjs', used: false });
    expect(leftovers(dir)).toEqual([]);
  });

  it('leaves no partial file behind when the disk fills during the write', () => {
    const dir = fixture('full');
    // A file size limit of 0: the write fails part way, as on a full disk (EFBIG here, ENOSPC there).
    const out = execFileSync(
      'sh',
      ['-c', `ulimit -f 0; exec "${process.execPath}" --import tsx "${join(dir, 'start.ts')}" --warm`],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(JSON.parse(out.trim().split('\n')[0]!)).toEqual({ answer: 'full', file: 'app.cjs' });
    expect(leftovers(dir)).toEqual([]);
    expect(caches(dir)).toEqual([]);
    expect(start(dir).used).toBe(false);
    expect(start(dir).used).toBe(true);
  });

  it('removes what a writer killed mid-write left, not what one is writing now', () => {
    const dir = fixture('killed');
    start(dir);
    const [cache] = caches(dir);
    const abandoned = `${cache}.4242.tmp`;
    const current = `${cache}.4343.tmp`;
    copyFileSync(join(dir, cache!), join(dir, abandoned));
    copyFileSync(join(dir, cache!), join(dir, current));
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, abandoned), hourAgo, hourAgo);
    writeApp(dir, 'killed, rebuilt');
    expect(start(dir).used).toBe(false);
    expect(leftovers(dir)).toEqual([current]);
  });

  it("starts, and replaces it, when something that blocks a reader has the cache's name (a FIFO)", () => {
    const dir = fixture('fifo');
    start(dir);
    const [cache] = caches(dir);
    rmSync(join(dir, cache!));
    execFileSync('mkfifo', [join(dir, cache!)]);
    expect(start(dir)).toEqual({ answer: 'fifo', file: 'app.cjs', used: false });
    expect(start(dir).used).toBe(true);
  });

  it('a process still running an old bundle neither writes its cache nor removes the new one', async () => {
    const dir = fixture('old');
    const old = spawn(process.execPath, ['--import', 'tsx', join(dir, 'start.ts'), '--warm-on-stdin'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    old.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    while (!out.includes('"used"')) await once(old.stdout, 'data');
    // The bundle is rebuilt (npm install) while the old process runs; a new process caches the new one.
    writeApp(dir, 'new');
    expect(start(dir)).toEqual({ answer: 'new', file: 'app.cjs', used: false });
    const [fresh] = caches(dir);
    old.stdin.end();
    await once(old, 'exit');
    expect(caches(dir)).toEqual([fresh]);
    expect(start(dir)).toEqual({ answer: 'new', file: 'app.cjs', used: true });
  });

  it('does not read a cache file far larger than any cache of the bundle (memory a small function lacks)', () => {
    const dir = fixture('huge');
    start(dir);
    const [cache] = caches(dir);
    // 1 GiB, sparse: no disk used, but a reader that reads it whole holds 1 GiB outside the V8 heap.
    truncateSync(join(dir, cache!), 1024 ** 3);
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(dir, 'start.ts'), '--rss'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const [app, starter, usage] = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect({ ...app, ...starter }).toEqual({ answer: 'huge', file: 'app.cjs', used: false });
    expect(usage.maxRssMb).toBeLessThan(512);
    expect(start(dir).used).toBe(true);
  });

  it('a cache written at exit, before any work, is replaced by one holding what the first work compiled', () => {
    const dir = fixture('late');
    // What only the first piece of work runs (a job's model): compiled lazily, after the bundle has loaded.
    writeFileSync(
      join(dir, 'app.cjs'),
      [
        "const { basename } = require('node:path');",
        `function work() { ${Array.from({ length: 200 }, (_, i) => `globalThis.n${i} = ${i} * 2;`).join(' ')} }`,
        "process.once('silopool:warm', work);",
        "console.log(JSON.stringify({ answer: 'late', file: basename(__filename) }));",
      ].join('\n'),
    );
    expect(start(dir, [], false).used).toBe(false);
    const [cache] = caches(dir);
    const cold = readFileSync(join(dir, cache!)).length;
    // The next process starts from that cache, and after its first work leaves one that also holds `work`.
    expect(start(dir).used).toBe(true);
    expect(caches(dir)).toEqual([cache]);
    expect(readFileSync(join(dir, cache!)).length).toBeGreaterThan(cold);
    const warm = readFileSync(join(dir, cache!));
    expect(start(dir).used).toBe(true);
    expect(readFileSync(join(dir, cache!))).toEqual(warm);
  });

  it('writes a cache as readable as the bundle (made by one user, used by a server running as another)', () => {
    const dir = fixture('shared');
    start(dir);
    const mode = (name: string) => (statSync(join(dir, name)).mode & 0o777).toString(8);
    expect(mode(caches(dir)[0]!)).toBe(mode('app.cjs'));
  });
});
