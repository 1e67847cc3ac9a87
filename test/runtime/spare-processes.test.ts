import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createEmbeddedStoreProvider } from '../../src/adapters/embedded/store-provider.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { SPARE_ARGUMENT } from '../../src/runtime/child-protocol.ts';
import {
  createSpareProcesses,
  forkFunctionProcess,
  REFILL_DELAY_MS,
  type SpareProcesses,
} from '../../src/runtime/spare-processes.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';
import { forkStandIn, forkStartingNoProcess, tempDir, writeStandIn } from './stand-in.ts';
import { tenantRuntime } from './stand-in-runtime.ts';

// Spare dedicated function processes (src/runtime/spare-processes.ts): the real prebuilt bundle, real
// processes, real tenant stores on disk.

const dataDir = mkdtempSync(join(tmpdir(), 'silopool-spares-'));
const shared = openDatabase(join(dataDir, 'jobs.sqlite'));
const stores = createEmbeddedStoreProvider(dataDir, shared);
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await stores.close();
  shared.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A dedicated tenant whose store provisioning made (its `jobs.sqlite` and `objects/`). */
async function provisioned(): Promise<TenantId> {
  const tenantId = randomTenantId();
  await stores.provision({ kind: 'dedicated', tenantId });
  return tenantId;
}

const alive = (pid: number | undefined) => {
  try {
    process.kill(pid as number, 0);
    return true;
  } catch {
    return false;
  }
};

/** The files of `dataDir` process `pid` holds open now. */
const openFilesUnder = (pid: number, dir: string) =>
  readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(dir));

/** The `--max-old-space-size` flag process `pid` runs with. */
const heapLimitOf = (pid: number) =>
  readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .find((arg) => arg.startsWith('--max-old-space-size='));

/** A pool whose forks are recorded (pids, in order). */
function pool(
  options: {
    fork?: (memoryMb: number) => ChildProcess;
    onError?: (e: unknown) => void;
    loadTimeoutMs?: number;
  } = {},
) {
  const forked: ChildProcess[] = [];
  const spares = createSpareProcesses({
    memoryMb: 512,
    fork: (memoryMb) => {
      const proc = (options.fork ?? ((mb) => forkFunctionProcess(SPARE_ARGUMENT, mb)))(memoryMb);
      forked.push(proc);
      return proc;
    },
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.loadTimeoutMs !== undefined ? { loadTimeoutMs: options.loadTimeoutMs } : {}),
  });
  cleanups.push(async () => {
    await spares.close();
    for (const proc of forked) if (alive(proc.pid)) proc.kill('SIGKILL');
  });
  return { spares, forked };
}

/** What `spares.take` hands over from now on: each spare's pid and whether it had loaded. */
function takesOf(spares: SpareProcesses): { pid: number | undefined; loaded: boolean }[] {
  const taken: { pid: number | undefined; loaded: boolean }[] = [];
  const take = spares.take.bind(spares);
  spares.take = (memoryMb) => {
    const spare = take(memoryMb);
    if (spare) taken.push({ pid: spare.proc.pid, loaded: spare.loaded });
    return spare;
  };
  return taken;
}

/** The finance function of `tenantId` (its default settings, `memoryMb` apart) taking spares from `spares`. */
const runtimeFor = (
  tenantId: TenantId,
  spares: SpareProcesses,
  memoryMb = 512,
  onError?: (e: unknown) => void,
) => tenantRuntime(tenantId, dataDir, { settings: { memoryMb }, spares, ...(onError ? { onError } : {}) });

describe('spare function processes', () => {
  it('a cold start takes a loaded spare, which opened nothing before it was bound and then runs its tenant', async () => {
    const { spares, forked } = pool();
    spares.keep(1);
    await vi.waitFor(() => expect(spares.size()).toEqual({ loaded: 1, loading: 0 }), { timeout: 15_000 });
    const spare = forked[0]!;
    // Loaded and bound to no tenant: nothing of the data directory is open in it.
    expect(openFilesUnder(spare.pid!, dataDir)).toEqual([]);

    const tenantId = await provisioned();
    const runtime = runtimeFor(tenantId, spares);
    await expect(runtime.invoke({ Records: [] })).resolves.toEqual({ batchItemFailures: [] });
    const info = runtime.info();
    expect(info).toMatchObject({ startedFrom: 'spare', pid: spare.pid, state: 'warm', coldStarts: 1 });
    // Bound: its tenant's database, and only its tenant's, is open in it.
    const open = openFilesUnder(spare.pid!, dataDir);
    expect(open).toContain(join(dataDir, 'tenants', tenantId, 'jobs.sqlite'));
    expect(open.every((file) => file.startsWith(join(dataDir, 'tenants', tenantId)))).toBe(true);

    // Another spare is forked behind the one taken, after the refill delay (not beside the first job).
    expect(spares.size()).toEqual({ loaded: 0, loading: 0 });
    await vi.waitFor(() => expect(spares.size().loaded).toBe(1), { timeout: REFILL_DELAY_MS + 15_000 });
    expect(forked).toHaveLength(2);
  }, 60_000);

  it('a spare still loading is taken and bound once it has loaded', async () => {
    const { spares, forked } = pool();
    const runtime = runtimeFor(await provisioned(), spares);
    const taken = takesOf(spares);
    // Forked and invoked in one go: the spare cannot have loaded (said `spare`) when it is taken.
    spares.keep(1);
    const answer = runtime.invoke({ Records: [] });
    await expect(answer).resolves.toEqual({ batchItemFailures: [] });
    expect(taken).toEqual([{ pid: forked[0]!.pid, loaded: false }]);
    expect(runtime.info()).toMatchObject({ startedFrom: 'spare', pid: forked[0]!.pid });
  }, 60_000);

  it('a tenant with another memory setting forks its own process and leaves the spare', async () => {
    const { spares, forked } = pool();
    spares.keep(1);
    await vi.waitFor(() => expect(spares.size().loaded).toBe(1), { timeout: 15_000 });
    const runtime = runtimeFor(await provisioned(), spares, 256);
    await runtime.invoke({ Records: [] });
    expect(runtime.info().startedFrom).toBe('fork');
    expect(runtime.info().pid).not.toBe(forked[0]!.pid);
    expect(spares.size().loaded).toBe(1);
    // Each runs with its own heap limit: the tenant's 256 MB, the spare's 512 MB.
    expect(heapLimitOf(runtime.info().pid!)).toBe('--max-old-space-size=256');
    expect(heapLimitOf(forked[0]!.pid!)).toBe('--max-old-space-size=512');
  }, 60_000);

  it('bound to a tenant without its store, it ends before ready and says why, as a forked one does', async () => {
    const { spares } = pool();
    spares.keep(1);
    await vi.waitFor(() => expect(spares.size().loaded).toBe(1), { timeout: 15_000 });
    const tenantId = randomTenantId();
    const runtime = runtimeFor(tenantId, spares);
    await expect(runtime.invoke({ Records: [] })).rejects.toThrow(
      new RegExp(`before it was ready: StoreNotFoundError: The dedicated store of tenant ${tenantId}`),
    );
    expect(runtime.info().startedFrom).toBe('spare');
  }, 60_000);

  it('is bound once: a second bind does not open another tenant', async () => {
    const first = await provisioned();
    const second = await provisioned();
    const proc = forkFunctionProcess(SPARE_ARGUMENT, 512);
    cleanups.push(() => proc.kill('SIGKILL'));
    const said = (type: string) =>
      new Promise<void>((resolve) =>
        proc.on('message', (m: { type?: string }) => m?.type === type && resolve()),
      );
    await said('spare');
    const ready = said('ready');
    proc.send({ type: 'bind', options: { tenantId: first, storeDir: join(dataDir, 'tenants', first) } });
    await ready;
    let readyAgain = false;
    proc.on('message', (m: { type?: string }) => {
      if (m?.type === 'ready') readyAgain = true;
    });
    proc.send({ type: 'bind', options: { tenantId: second, storeDir: join(dataDir, 'tenants', second) } });
    await new Promise((r) => setTimeout(r, 500));
    expect(readyAgain).toBe(false);
    expect(openFilesUnder(proc.pid!, join(dataDir, 'tenants', second))).toEqual([]);
    expect(openFilesUnder(proc.pid!, join(dataDir, 'tenants', first)).length).toBeGreaterThan(0);
  }, 30_000);

  it('a spare that says ready before it is sent its tenant breaks the protocol and is stopped', async () => {
    const script = writeStandIn(
      `process.send({ type: 'ready' }); setInterval(() => undefined, 1000);`,
      'eager.cjs',
    );
    const { spares, forked } = pool({
      fork: () => forkStandIn(script),
    });
    const errors: unknown[] = [];
    const runtime = runtimeFor(await provisioned(), spares, 512, (e) => errors.push(e));
    const taken = takesOf(spares);
    // Taken before its `ready` can arrive (a `ready` the pool heard first was lost, and the test hung).
    spares.keep(1);
    await expect(runtime.invoke({ Records: [] })).rejects.toThrow(/exited/);
    expect(taken).toEqual([{ pid: forked[0]!.pid, loaded: false }]);
    expect(String(errors[0])).toMatch('reported ready before it was sent its tenant');
    await vi.waitFor(() => expect(alive(forked[0]!.pid)).toBe(false), { timeout: 5000 });
  }, 30_000);

  it('what a spare wrote to stderr before it was taken still tells why it ended, as a fork of its own would', async () => {
    // It writes why it is broken while it waits, then ends when it is bound.
    const script = writeStandIn(
      `console.error('BrokenCacheError: the code cache of this process is damaged');
       process.on('message', (m) => { if (m.type === 'bind') process.exit(1); });
       setTimeout(() => process.send({ type: 'spare' }), 200);`,
      'broken.cjs',
    );
    const { spares } = pool({ fork: () => forkStandIn(script) });
    spares.keep(1);
    await vi.waitFor(() => expect(spares.size().loaded).toBe(1), { timeout: 15_000 });
    const runtime = runtimeFor(await provisioned(), spares);
    await expect(runtime.invoke({ Records: [] })).rejects.toThrow(
      /exited \(1\) before it was ready: BrokenCacheError: the code cache of this process is damaged/,
    );
  }, 30_000);

  it('one that crashes while loading is forked again after a growing wait, not in a loop', async () => {
    const script = writeStandIn(`console.error('Error: cannot load'); process.exit(3);`, 'crash.cjs');
    const errors: unknown[] = [];
    const { spares, forked } = pool({
      fork: () => forkStandIn(script),
      onError: (e) => errors.push(e),
    });
    spares.keep(1);
    await new Promise((r) => setTimeout(r, 3500));
    // Forked at 0, then after 1 s and 2 s more: three, not hundreds.
    expect(forked.length).toBeGreaterThanOrEqual(2);
    expect(forked.length).toBeLessThanOrEqual(3);
    expect(String(errors[0])).toMatch(
      /exited \(3\) before it loaded: Error: cannot load; another is forked in 1000 ms/,
    );
  }, 30_000);

  it('one that crashes right after it loaded is forked again after a growing wait too, not every second', async () => {
    // It loads (says `spare`), then crashes 50 ms later: each load had reset the wait to 1 s.
    const script = writeStandIn(
      `process.send({ type: 'spare' }); setTimeout(() => process.exit(4), 50);`,
      'brief.cjs',
    );
    const errors: unknown[] = [];
    const { spares, forked } = pool({
      fork: () => forkStandIn(script),
      onError: (e) => errors.push(e),
    });
    spares.keep(1);
    await new Promise((r) => setTimeout(r, 7500));
    // Forked at 0, then after 1, 2 and 4 s more (each ≈ 0.1 s to load and crash): four, not six or seven.
    expect(forked.length).toBeGreaterThanOrEqual(3);
    expect(forked.length).toBeLessThanOrEqual(4);
    expect(String(errors[1])).toMatch(/exited \(4\) while it waited; another is forked in 2000 ms/);
  }, 30_000);

  it('a fork that starts no process is tried again after a wait: the pool kept it as loading for good', async () => {
    const errors: unknown[] = [];
    let forks = 0;
    const { spares } = pool({
      // The first fails the way EAGAIN (out of processes) does: no pid, an `error` event, never `exit`.
      fork: (mb) => (forks++ === 0 ? forkStartingNoProcess() : forkFunctionProcess(SPARE_ARGUMENT, mb)),
      onError: (e) => errors.push(e),
    });
    spares.keep(1);
    await vi.waitFor(() => expect(spares.size()).toEqual({ loaded: 1, loading: 0 }), { timeout: 15_000 });
    expect(forks).toBe(2);
    expect(String(errors[0])).toMatch(
      /could not be forked.*started no process.*another is forked in 1000 ms/,
    );
  }, 30_000);

  it('a fork that throws (ENOMEM) in the refill behind a take is tried again after a wait, never thrown out of the timer', async () => {
    const errors: unknown[] = [];
    let forks = 0;
    const { spares } = pool({
      fork: (mb) => {
        if (forks++ === 1) throw Object.assign(new Error('spawn ENOMEM'), { code: 'ENOMEM' });
        return forkFunctionProcess(SPARE_ARGUMENT, mb);
      },
      onError: (e) => errors.push(e),
    });
    spares.keep(1);
    await vi.waitFor(() => expect(spares.size().loaded).toBe(1), { timeout: 15_000 });
    const taken = spares.take(512)!;
    cleanups.push(() => taken.proc.kill('SIGKILL'));
    // The refill (after REFILL_DELAY_MS) throws; the next fork, 1 s later, works.
    await vi.waitFor(() => expect(spares.size().loaded).toBe(1), { timeout: REFILL_DELAY_MS + 15_000 });
    expect(forks).toBe(3);
    expect(String(errors[0])).toMatch(/could not be forked \(Error: spawn ENOMEM\)/);
  }, 30_000);

  it('one that does not load within its deadline is stopped and another forked: it held its slot for good', async () => {
    const script = writeStandIn(`setInterval(() => undefined, 1000);`, 'stuck.cjs');
    const errors: unknown[] = [];
    const { spares, forked } = pool({
      fork: () => forkStandIn(script),
      onError: (e) => errors.push(e),
      loadTimeoutMs: 300,
    });
    spares.keep(1);
    await vi.waitFor(() => expect(alive(forked[0]!.pid)).toBe(false), { timeout: 5000 });
    expect(String(errors[0])).toMatch(
      /did not load within 0.3 s and was stopped; another is forked in 1000 ms/,
    );
    // Its slot is free: another is forked after the wait (and stopped in its turn).
    await vi.waitFor(() => expect(forked.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
  }, 30_000);

  it('a spare its function stopped while it loaded is never sent the tenant (a `spare` that crossed the stop)', async () => {
    const dir = tempDir();
    const bound = join(dir, 'bound');
    // It says `spare` only as the SIGTERM arrives (its report and the host's stop cross), then waits.
    const script = writeStandIn(
      `process.on('SIGTERM', () => process.send({ type: 'spare' }));
       require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'listening'))}, '');
       process.on('message', (m) => { if (m.type === 'bind') require('node:fs').writeFileSync(${JSON.stringify(bound)}, m.options.tenantId); });
       setInterval(() => undefined, 1000);`,
      'crossed.cjs',
      dir,
    );
    const { spares, forked } = pool({ fork: () => forkStandIn(script) });
    spares.keep(1);
    const tenantId = await provisioned();
    await vi.waitFor(() => expect(existsSync(join(dir, 'listening'))).toBe(true), { timeout: 5000 });
    // Provisioned: started (from the loading spare) at once, with no event; then its lane closes.
    const runtime = tenantRuntime(tenantId, dataDir, { settings: { provisionedConcurrency: 1 }, spares });
    await vi.waitFor(() =>
      expect(runtime.info()).toMatchObject({ startedFrom: 'spare', pid: forked[0]!.pid }),
    );
    await runtime.close();
    expect(existsSync(bound)).toBe(false);
  }, 30_000);

  it('a function closed while its event waited for the tenant record takes no spare and starts nothing', async () => {
    const { spares } = pool();
    spares.keep(1);
    await vi.waitFor(() => expect(spares.size().loaded).toBe(1), { timeout: 15_000 });
    const tenantId = await provisioned();
    const tenant = makeTenant(tenantId, { placement: 'dedicated' });
    let lookedUp!: () => void;
    const runtime = tenantRuntime(tenantId, dataDir, {
      // The record is read while the lane closes (a demotion, an offboarding, the server's stop).
      tenant: () =>
        new Promise((resolve) => {
          lookedUp = () => resolve(tenant);
        }),
      spares,
    });
    const taken = takesOf(spares);
    const answer = runtime.invoke({ Records: [] });
    answer.catch(() => undefined);
    await vi.waitFor(() => expect(lookedUp).toBeDefined());
    await runtime.close();
    lookedUp();
    await expect(answer).rejects.toThrow();
    expect(taken).toEqual([]);
    expect(runtime.info()).toMatchObject({ state: 'cold', coldStarts: 0 });
  }, 30_000);

  it("what a spare writes to stderr while it is stopped still reaches the server's stderr", async () => {
    // It says why as it stops: the pool had detached its pass-through before the SIGTERM, and dropped it.
    const script = writeStandIn(
      `process.on('SIGTERM', () => { console.error('ShutdownError: spare ' + process.pid + ' stopping'); process.exit(0); });
       process.send({ type: 'spare' });
       setInterval(() => undefined, 1000);`,
      'says-why.cjs',
    );
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk, ...rest) => {
      written.push(String(chunk));
      return write(chunk, ...(rest as []));
    });
    cleanups.push(() => spy.mockRestore());
    const { spares, forked } = pool({ fork: () => forkStandIn(script) });
    spares.keep(2);
    await vi.waitFor(() => expect(spares.size().loaded).toBe(2), { timeout: 15_000 });
    // One kept fewer, then the other at close.
    spares.keep(1);
    await spares.close();
    for (const proc of forked)
      await vi.waitFor(
        () => expect(written.join('')).toContain(`ShutdownError: spare ${proc.pid} stopping`),
        {
          timeout: 5000,
        },
      );
  }, 30_000);

  it('keep(0) and close end the spares', async () => {
    const { spares, forked } = pool();
    spares.keep(2);
    await vi.waitFor(() => expect(spares.size().loaded).toBe(2), { timeout: 20_000 });
    spares.keep(1);
    expect(spares.size().loaded).toBe(1);
    await vi.waitFor(() => expect(forked.filter((p) => alive(p.pid))).toHaveLength(1), { timeout: 5000 });
    spares.keep(0);
    expect(spares.size()).toEqual({ loaded: 0, loading: 0 });
    await vi.waitFor(() => expect(forked.filter((p) => alive(p.pid))).toHaveLength(0), { timeout: 5000 });
    spares.keep(1);
    expect(forked).toHaveLength(3);
    await spares.close();
    expect(forked.some((p) => alive(p.pid))).toBe(false);
    spares.keep(1);
    expect(forked).toHaveLength(3);
  }, 60_000);
});

// The embedded data folder layout the function process expects, for the store-less case above.
mkdirSync(join(dataDir, 'tenants'), { recursive: true });
