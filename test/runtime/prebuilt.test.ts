import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { toFieldProblems } from '../../src/models/ajv-messages.ts';
import { FORMATTING_AJV_OPTIONS, FORMATTING_SCHEMA } from '../../src/models/xlsx/formatting-checks.ts';
import { moneyFormat } from '../../src/models/xlsx/styles.ts';
import {
  buildPrebuilt,
  bundlePath,
  forkPrebuilt,
  isFresh,
  PREBUILT_DIR,
  type PrebuiltEntry,
  prebuiltEntry,
  prebuiltPath,
  precomputed,
} from '../../src/runtime/prebuilt.ts';
import { startMove, waitForOperation } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

const servers: TestServer[] = [];

/** A new server with one tenant of `placement` whose one finance job has succeeded. */
async function serverWithOneJob(prefix: string, placement: 'shared' | 'dedicated') {
  const server = await startTestServer();
  servers.push(server);
  const tenant = newTenantId(prefix);
  const { apiKey } = await server.createTenant(tenant, { placement });
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: apiKey,
    body: JSON.stringify({ input: { revenue: 1000 } }),
  });
  const { id } = (await res.json()) as { id: string };
  expect((await waitForJob(server, apiKey, id)).status).toBe('succeeded');
  return { server, tenant };
}

/** Whether a file of `dist/functions/` named like `pattern` is there within 5 s (a cache is written after a job). */
async function cacheAppears(pattern: RegExp): Promise<boolean> {
  const cached = () => readdirSync(PREBUILT_DIR).some((f) => pattern.test(f));
  for (let i = 0; i < 100 && !cached(); i++) await new Promise((r) => setTimeout(r, 50));
  return cached();
}
/**
 * Builds `entry`'s bundle, then records the input `pick` chooses among its manifest's (the first source by
 * default) as one byte longer than it is: as if that file changed after the build. Returns the input.
 */
function staleBundle(
  entry: PrebuiltEntry,
  pick: (inputs: string[]) => string | undefined = (inputs) => inputs.find((f) => f.startsWith('src/')),
): string {
  buildPrebuilt(entry);
  const manifestFile = `${PREBUILT_DIR}/${entry}.inputs.json`;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, { size: number }>;
  const input = pick(Object.keys(manifest));
  expect(input).toBeDefined();
  manifest[input!]!.size += 1;
  writeFileSync(manifestFile, JSON.stringify(manifest));
  return input!;
}

afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('dedicated functions start from prebuilt JavaScript', () => {
  it('a bundle is stale as soon as a source it was built from changes', () => {
    buildPrebuilt('function-process');
    expect(isFresh('function-process')).toBe(true);
    staleBundle('function-process');
    expect(isFresh('function-process')).toBe(false);
    buildPrebuilt('function-process');
    expect(isFresh('function-process')).toBe(true);
  });

  it('a bundle is stale when a package bundled into it is updated (`npm install ajv@x` runs no prepare)', () => {
    // Ajv is bundled (the formatting check); better-sqlite3 is not (native, loaded from node_modules).
    staleBundle('compute-process', (inputs) => {
      expect(inputs.some((f) => f.includes('node_modules/') && !f.endsWith('/package.json'))).toBe(false);
      return inputs.find((f) => f.endsWith('node_modules/ajv/package.json'));
    });
    expect(isFresh('compute-process')).toBe(false);
    buildPrebuilt('compute-process');
    expect(isFresh('compute-process')).toBe(true);
  });

  it('a bundle is stale when the build options change (src/runtime/prebuilt.ts is one of its inputs)', () => {
    // Another output format or banner, with the same output names, must not leave the old bundles running.
    staleBundle('compute-process', (inputs) => inputs.find((f) => f === 'src/runtime/prebuilt.ts'));
    expect(isFresh('compute-process')).toBe(false);
    buildPrebuilt('compute-process');
    expect(isFresh('compute-process')).toBe(true);
  });

  it("a bundle built by another Node is stale (its money formats come from that Node's ICU data)", () => {
    buildPrebuilt('compute-process');
    const manifestFile = `${PREBUILT_DIR}/compute-process.inputs.json`;
    const text = readFileSync(manifestFile, 'utf8');
    expect(text).toContain(`"node ${process.version} icu ${process.versions.icu}"`);
    writeFileSync(manifestFile, text.replace(`node ${process.version} `, 'node v20.0.0 '));
    expect(isFresh('compute-process')).toBe(false);
    buildPrebuilt('compute-process');
    expect(isFresh('compute-process')).toBe(true);
  });

  it('a source changed while its bundle was being built leaves the bundle stale, not fresh with the old code', () => {
    // esbuild reads the sources, then the manifest takes their mtimes: an edit saved in between (an editor
    // while a server starts) was recorded as built, and that bundle ran the old code at every start after.
    // An mtime of the build's moment is what such an edit leaves (esbuild cannot be paused mid-build here).
    const source = 'src/runtime/compute-process.ts';
    const before = statSync(source);
    try {
      utimesSync(source, new Date(), new Date());
      buildPrebuilt('compute-process');
      expect(isFresh('compute-process')).toBe(false);
      // A time ahead of the clock (a copy from a skewed machine) is no edit now: not stale at every build.
      const ahead = new Date(Date.now() + 3_600_000);
      utimesSync(source, ahead, ahead);
      buildPrebuilt('compute-process');
      expect(isFresh('compute-process')).toBe(true);
    } finally {
      utimesSync(source, before.atime, before.mtime);
    }
    buildPrebuilt('compute-process');
    expect(isFresh('compute-process')).toBe(true);
  });

  it('a bundle removed while the server runs (git clean, rm -rf dist) is built again for the next process', async () => {
    // Checked once per process, the path of a removed bundle was forked by every later start: each
    // dedicated function failed (exited 1), and a shared thread was replaced ten times a second, until a restart.
    expect(prebuiltEntry('compute-process')).toBe(prebuiltPath('compute-process'));
    rmSync(bundlePath('compute-process'));
    const child = forkPrebuilt(
      'compute-process',
      { relative: '../../src/runtime/compute-process', base: import.meta.url },
      [],
      { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const first = await new Promise<unknown>((resolve) => {
      child.once('message', resolve);
      child.once('exit', (code) => resolve({ exited: code, stderr }));
    });
    child.kill();
    expect(first).toEqual({ ready: true });
    expect(isFresh('compute-process')).toBe(true);
  });

  it('a manifest that cannot be read leaves its bundle stale (built again), not a throw that means tsx', () => {
    buildPrebuilt('compute-process');
    const manifestFile = `${PREBUILT_DIR}/compute-process.inputs.json`;
    for (const text of ['{"src/runtime/compute-process.ts": {"size"', 'null']) {
      writeFileSync(manifestFile, text);
      expect(isFresh('compute-process')).toBe(false);
    }
    buildPrebuilt('compute-process');
    expect(isFresh('compute-process')).toBe(true);
  });

  it('a stale bundle that cannot be built is named in a warning, not run through tsx unseen', () => {
    staleBundle('compute-process', () => 'src/runtime/compute-process.ts');
    const prebuilt = new URL('../../src/runtime/prebuilt.ts', import.meta.url).href;
    // No file can be written (a full disk, a read-only install): the build fails, the sources run through tsx.
    const check = spawnSync(
      'sh',
      [
        '-c',
        `ulimit -f 0; exec "${process.execPath}" --import tsx --input-type=module -e "const { prebuiltEntry } = await import('${prebuilt}'); console.log(String(prebuiltEntry('compute-process')));"`,
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(check.stdout.trim()).toBe('undefined');
    expect(check.stderr).toMatch(
      /SILOPOOL_NO_PREBUILT.*No prebuilt compute-process bundle \(.*(EFBIG|file too large)/i,
    );
    buildPrebuilt('compute-process');
  });

  it('builds from any working directory (a server started from elsewhere, a service unit)', () => {
    // esbuild names its inputs relative to the working directory, which the manifest read as the checkout's:
    // from another one every build failed (ENOENT on a path that does not exist) and the functions ran
    // through tsx at every start.
    staleBundle('compute-process', () => 'src/runtime/compute-process.ts');
    const prebuilt = new URL('../../src/runtime/prebuilt.ts', import.meta.url).href;
    const build = spawnSync(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        '--input-type=module',
        '-e',
        `const { buildPrebuilt } = await import('${prebuilt}'); buildPrebuilt('compute-process');`,
      ],
      { encoding: 'utf8', cwd: tmpdir(), env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    expect(isFresh('compute-process')).toBe(true);
  });

  it('a bundle built again by someone else while the server runs is named in a warning, once', async () => {
    // `npm run build:functions` or a second server on the checkout after an edit: this server's next processes
    // run the new code next to its own, with nothing in its log to say so.
    expect(prebuiltEntry('compute-process')).toBe(prebuiltPath('compute-process'));
    // Earlier cases built it again too: their warning (emitted on the next tick) is not this one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      buildPrebuilt('compute-process');
      expect(prebuiltEntry('compute-process')).toBe(prebuiltPath('compute-process'));
      expect(prebuiltEntry('compute-process')).toBe(prebuiltPath('compute-process'));
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('warning', onWarning);
    }
    const rebuilt = warnings.filter((w) => (w as { code?: string }).code === 'SILOPOOL_PREBUILT_REBUILT');
    expect(rebuilt.map((w) => w.message)).toEqual([
      expect.stringMatching(/compute-process bundle was built again while this server runs.*Restart/),
    ]);
  });

  it('a build that cannot write its files (a full disk) leaves nothing aside', () => {
    const prebuilt = new URL('../../src/runtime/prebuilt.ts', import.meta.url).href;
    // A file size limit of 0: every write fails, as on a full disk (EFBIG here, ENOSPC there).
    const build = spawnSync(
      'sh',
      [
        '-c',
        `ulimit -f 0; exec "${process.execPath}" --import tsx --input-type=module -e "const { buildPrebuilt } = await import('${prebuilt}'); buildPrebuilt('function-process');"`,
      ],
      { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(build.status).not.toBe(0);
    expect(build.stderr).toMatch(/EFBIG|file too large/i);
    expect(readdirSync(PREBUILT_DIR).filter((f) => f.includes(`.${build.pid}-`))).toEqual([]);
  });

  it('builds files as readable as any the install writes (a server may run as another user than npm install)', () => {
    buildPrebuilt('function-process');
    // What this process's umask gives a plain file; `npm install` as root and the server as `node` rely on it.
    const probe = `${PREBUILT_DIR}/.mode-probe-${process.pid}`;
    writeFileSync(probe, '');
    const plain = statSync(probe).mode & 0o777;
    rmSync(probe);
    for (const name of ['function-process-start.cjs', 'function-process.cjs', 'function-process.inputs.json'])
      expect({ name, mode: (statSync(`${PREBUILT_DIR}/${name}`).mode & 0o777).toString(8) }).toEqual({
        name,
        mode: plain.toString(8),
      });
  });

  it('carries the formatting check and money formats worked out at build time, as a process would work them out', () => {
    const built = new Function(
      'require',
      `${precomputed()}; return { shape: SILOPOOL_PRECOMPILED_FORMATTING_SHAPE, money: SILOPOOL_PRECOMPUTED_MONEY_FORMATS };`,
    )(createRequire(import.meta.url)) as { shape: ValidateFunction; money: Record<string, string> };
    const compiled = new Ajv(FORMATTING_AJV_OPTIONS).compile(FORMATTING_SCHEMA);
    const samples = [
      {},
      { currency: 'EUR', locale: 'de-DE', brandColor: '1F4E79', sheetNames: { Summary: 'Übersicht' } },
      { currency: 'eur', brandColor: '#fff', companyName: 'bad\u0001name', extra: 1 },
      { locale: 'd', numberFormat: '', logoPng: '***', sheetNames: { a: 1 } },
      'not an object',
    ];
    for (const sample of samples) {
      expect(built.shape(sample)).toBe(compiled(sample));
      expect(toFieldProblems(built.shape.errors ?? [])).toEqual(toFieldProblems(compiled.errors ?? []));
    }
    expect(toFieldProblems(built.shape.errors ?? []).length).toBeGreaterThan(0);
    for (const currency of ['USD', 'EUR', 'JPY', 'BHD', 'CHF', 'INR'])
      expect(built.money[`${currency}|en-US`]).toBe(moneyFormat(currency, 'en-US'));
    // The bundle defines them before any of its modules, under the names the modules read.
    buildPrebuilt('function-process');
    const bundle = readFileSync(bundlePath('function-process'), 'utf8');
    const defined = bundle.indexOf('const SILOPOOL_PRECOMPILED_FORMATTING_SHAPE =');
    expect(defined).toBeGreaterThan(-1);
    expect(bundle.indexOf('const SILOPOOL_PRECOMPUTED_MONEY_FORMATS =')).toBeGreaterThan(-1);
    expect(bundle.indexOf('typeof SILOPOOL_PRECOMPILED_FORMATTING_SHAPE === "undefined"')).toBeGreaterThan(
      defined,
    );
    expect(bundle.indexOf('Object.entries(SILOPOOL_PRECOMPUTED_MONEY_FORMATS)')).toBeGreaterThan(defined);
  });

  it("the server forks a dedicated tenant's function from the bundle, without tsx, and it runs jobs", async () => {
    const { server, tenant } = await serverWithOneJob('prebuilt', 'dedicated');
    const functions = (await (
      await server.api('/v1/admin/functions', { token: server.operatorToken })
    ).json()) as {
      items: { tenantId: string; pid?: number }[];
    };
    const fn = functions.items.find((f) => f.tenantId === tenant && f.pid !== undefined);
    expect(fn).toBeDefined();
    const cmdline = readFileSync(`/proc/${fn!.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.some((a) => a.endsWith('dist/functions/function-process-start.cjs'))).toBe(true);
    expect(cmdline.some((a) => a.includes('tsx'))).toBe(false);
    // After its first job it leaves V8's code cache of the bundle for the next process (code-cache.ts).
    expect(await cacheAppears(/^function-process\.cjs\..+\.v8cache$/)).toBe(true);
  });

  it('the shared function threads start from their bundle too, and leave its code cache after a job', async () => {
    // Only the bundle's starter writes this cache (code-cache.ts), after a thread's first job: removed first,
    // it comes back only if a thread of this server ran from the bundle (tsx compiles the sources instead).
    buildPrebuilt('function-thread-embedded');
    const cache = /^function-thread-embedded\.cjs\..+\.v8cache$/;
    for (const f of readdirSync(PREBUILT_DIR).filter((f) => cache.test(f)))
      rmSync(`${PREBUILT_DIR}/${f}`, { force: true });
    await serverWithOneJob('prebuilt-shared', 'shared');
    expect(await cacheAppears(cache)).toBe(true);
  });

  it("a move's copy and verify steps run on threads started from the move worker's bundle", async () => {
    // As above: only the bundle's starter writes this cache (at a step thread's exit when it compiled from
    // source), so it comes back only if a step of this move ran from the bundle, not through tsx.
    buildPrebuilt('move-worker');
    const cache = /^move-worker\.cjs\..+\.v8cache$/;
    for (const f of readdirSync(PREBUILT_DIR).filter((f) => cache.test(f)))
      rmSync(`${PREBUILT_DIR}/${f}`, { force: true });
    const { server, tenant } = await serverWithOneJob('prebuilt-move', 'shared');
    const move = await startMove(server, tenant, 'dedicated');
    const moved = await waitForOperation(server, move.id);
    expect(moved.status).toBe('succeeded');
    expect(await cacheAppears(cache)).toBe(true);
  });

  it('a server started on changed sources rebuilds every stale bundle before it listens, not mid-operation', async () => {
    // Built lazily, the move worker's bundle was built on the event loop by a promotion's first step: every
    // request of that moment waited for esbuild (0.3 s, bench/placement.ts promotion).
    for (const entry of ['move-worker', 'compute-process'] as const) {
      staleBundle(entry);
      expect(isFresh(entry)).toBe(false);
    }
    servers.push(await startTestServer());
    expect(isFresh('move-worker')).toBe(true);
    expect(isFresh('compute-process')).toBe(true);
  });
});
