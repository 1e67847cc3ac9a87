import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { FunctionSettings } from '../../src/core/tenant.ts';
import { gone, spawnedPid } from './process-group-helpers.ts';
import { setStandIn, tempDir } from './stand-in.ts';
import { STAND_IN_SETTINGS, standInRuntime } from './stand-in-runtime.ts';

// A stand-in for a dedicated function process whose release code spawns a process (a grandchild of the
// host) that ignores SIGTERM. The host stopped only its child's pid: the idle stop, an event's timeout kill
// and close() ended the child and left the grandchild running, with the tenant's files, for good. Forked as
// the runtime forks it (its options, `detached: true` included), the stand-in is where release code runs.
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);
setStandIn(
  `const { spawn } = require('node:child_process');
   const fs = require('node:fs');
   const { storeDir } = JSON.parse(process.argv[2]);
   const pidFile = storeDir + '/grandchild.pid';
   // Deaf to SIGTERM, and says so (its pid in a file) only once it is.
   const code = "process.on('SIGTERM', () => undefined); require('node:fs').writeFileSync(" +
     JSON.stringify(pidFile) + ", String(process.pid)); setInterval(() => undefined, 1000);";
   spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
   const wait = setInterval(() => {
     if (!fs.existsSync(pidFile)) return;
     clearInterval(wait);
     process.send({ type: 'ready' });
   }, 10);
   process.on('message', (m) => {
     if (m.type !== 'invoke') return;
     const body = m.event.Records[0]?.body;
     if (body === 'hang') return;
     if (body === 'deaf') process.on('SIGTERM', () => undefined);
     process.send({ type: 'result', id: m.id, response: { batchItemFailures: [] } });
   });`,
);
const dir = tempDir('silopool-process-group-');
/** The grandchildren: killed when the file ends if a test failed before they were. */
const pids: number[] = [];
afterAll(() => {
  for (const pid of pids) if (!gone(pid)) process.kill(pid, 'SIGKILL');
});

let runtimes = 0;
/** A runtime of its own folder (where its process writes its grandchild's pid). */
function runtime(settings: Partial<FunctionSettings> = {}) {
  const storeDir = join(dir, `fn-${++runtimes}`);
  mkdirSync(storeDir);
  const errors: string[] = [];
  const created = standInRuntime({ settings, storeDir, onError: (error) => errors.push(String(error)) });
  const event = (body: string) => ({ Records: [{ body }] }) as never;
  /** The pid of the process the runtime's process spawned (it wrote it before it said ready). */
  const grandchild = () => {
    const file = join(storeDir, 'grandchild.pid');
    expect(existsSync(file)).toBe(true);
    const pid = spawnedPid(readFileSync(file, 'utf8'));
    pids.push(pid);
    return pid;
  };
  return { runtime: created, event, grandchild, errors };
}

describe('stopping a dedicated function process stops what its code spawned', () => {
  it('close(): the process obeys SIGTERM, its grandchild (deaf to it) is killed when it exits', async () => {
    const { runtime: fn, event, grandchild } = runtime();
    await fn.invoke(event('run'));
    const pid = fn.info().pid as number;
    const spawned = grandchild();
    expect(gone(spawned)).toBe(false);
    await fn.close();
    expect(gone(pid)).toBe(true);
    await vi.waitFor(() => expect(gone(spawned)).toBe(true), { timeout: 1000 });
  }, 20_000);

  it('close(): a process deaf to SIGTERM as well is killed after 2 s, and the kill reaches its group', async () => {
    const { runtime: fn, event, grandchild } = runtime();
    await fn.invoke(event('deaf'));
    const spawned = grandchild();
    await fn.close();
    await vi.waitFor(() => expect(gone(spawned)).toBe(true), { timeout: 1000 });
  }, 20_000);

  it('an event that times out: the SIGKILL of its process reaches the grandchild', async () => {
    const { runtime: fn, event, grandchild, errors } = runtime();
    // Warm first: the timeout counts from the event's arrival, a cold start included (slow on a busy host).
    await fn.invoke(event('run'));
    fn.updateSettings({ ...STAND_IN_SETTINGS, timeoutSec: 0.3 });
    await expect(fn.invoke(event('hang'))).rejects.toThrow(/exited \(SIGKILL\) while running the event/);
    expect(errors.some((e) => /event timed out after 0.3s; process stopped/.test(e))).toBe(true);
    const spawned = grandchild();
    await vi.waitFor(() => expect(gone(spawned)).toBe(true), { timeout: 1000 });
  }, 20_000);

  it('an idle stop: the grandchild is killed when the process ends on its SIGTERM', async () => {
    const { runtime: fn, event, grandchild } = runtime({ idleTimeoutSec: 0.05 });
    await fn.invoke(event('run'));
    const pid = fn.info().pid as number;
    const spawned = grandchild();
    await vi.waitFor(() => expect(gone(pid)).toBe(true), { timeout: 5000 });
    // The host counts the function cold now: nothing of it runs on.
    expect(fn.info().state).toBe('cold');
    await vi.waitFor(() => expect(gone(spawned)).toBe(true), { timeout: 1000 });
  }, 20_000);
});
