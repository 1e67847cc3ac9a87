import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PLAN_LIMITS } from '../../src/core/tenant.ts';
import { type ComputePool, createComputePool } from '../../src/runtime/compute-pool.ts';
import { gone, spawnedPid } from './process-group-helpers.ts';
import { setStandIn, standInForks, tempDir } from './stand-in.ts';

// Compute processes that hang, as stand-ins forked in place of the prebuilt `compute-process` (stand-in.ts).
// One that hangs while it loads had no start deadline: the part sent to it waited until its job's time limit
// (30–900 s by plan), and the job then failed as `timeout`, never retried, for what was the platform's fault.
// One that hangs in a part after it is ready is ended by its run's stop (the job's time limit aborts it).
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);

/** A compute process that works: ready at once, each part answered with its own value doubled. */
const WORKS = `process.on('message', (t) => process.send({ id: t.id, result: t.part * 2 }));
process.send({ ready: true });`;

const dir = tempDir('silopool-compute-hang-');
let spawns = 0;
/**
 * A stand-in that starts a process of its own (in its process group, deaf to SIGTERM) and writes that one's pid
 * into the returned file at once, then runs `then`.
 */
function spawningThen(then: string): { code: string; pidFile: string } {
  const pidFile = join(dir, `grandchild-${++spawns}.pid`);
  const grandchild = `process.on('SIGTERM', () => undefined); setInterval(() => undefined, 1000);`;
  return {
    code: `const { pid } = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'ignore' });
require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(pid));
${then}`,
    pidFile,
  };
}

/** Hangs while it loads: never says ready. */
const HANGS_LOADING = `setInterval(() => undefined, 1000);`;
/** Says ready, then never answers a part, and ignores SIGTERM (a part stuck in a loop or a wait). */
const HANGS_IN_PART = `process.on('SIGTERM', () => undefined);
process.on('message', () => undefined);
process.send({ ready: true });
setInterval(() => undefined, 1000);`;

async function grandchildOf(pidFile: string): Promise<number> {
  await vi.waitFor(() => expect(existsSync(pidFile)).toBe(true), { timeout: 10_000 });
  return spawnedPid(readFileSync(pidFile, 'utf8'));
}

/** How a promise ended within `ms`: 'resolved', 'rejected: <message>' or still 'pending'. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => 'resolved',
      (error: unknown) => `rejected: ${String((error as Error)?.message ?? error)}`,
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('pending'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

let pool: ComputePool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** Long enough for a stand-in to start on a loaded machine (Node's start, 50–300 ms). */
const START_TIMEOUT_MS = 1_000;

describe('a compute process that hangs', () => {
  it('while it loads: killed with its process group at the start deadline, its run fails saying so, the next run gets a working process', async () => {
    const { code, pidFile } = spawningThen(HANGS_LOADING);
    setStandIn(code);
    pool = createComputePool({ size: 1, nice: 0, startTimeoutMs: START_TIMEOUT_MS });
    const before = standInForks.length;
    // No stop signal (the job's time limit, 30–900 s, would be the only one): it waited for ever here.
    const run = pool.runParts('funds', {}, [1, 2]);
    const spawned = await grandchildOf(pidFile);
    expect(await settledWithin(run, 5_000)).toMatch(
      /^rejected: A compute process \(pid \d+\) was not ready within 1 s; killed/,
    );
    const hung = standInForks[before]!.proc;
    await vi.waitFor(() => expect(gone(hung.pid!)).toBe(true), { timeout: 2_000 });
    // Its group went with it: what it had started does not live on.
    await vi.waitFor(() => expect(gone(spawned)).toBe(true), { timeout: 2_000 });
    // The run's other part was dropped, not handed to a process started for it.
    expect(standInForks.length - before).toBe(1);

    setStandIn(WORKS);
    expect(await settledWithin(pool.runParts('funds', {}, [3, 4]), 5_000)).toBe('resolved');
    expect(standInForks.length - before).toBe(2);
  }, 30_000);

  it('while it loads, the others ready: only the hung one is killed, and its part fails its run alone', async () => {
    setStandIn(HANGS_LOADING);
    pool = createComputePool({ size: 2, nice: 0, startTimeoutMs: START_TIMEOUT_MS });
    const hungRun = pool.runParts('funds', {}, [1]);
    setStandIn(WORKS);
    const other = pool.runParts('funds', {}, [2, 3, 4]);
    await expect(other).resolves.toEqual([4, 6, 8]);
    expect(await settledWithin(hungRun, 5_000)).toMatch(/was not ready within 1 s; killed/);
    // The working process stays for the next run; the hung one was never given another part.
    await expect(pool.runParts('funds', {}, [5])).resolves.toEqual([10]);
  }, 30_000);

  it('in a part, after it was ready: ended with its process group when its run is stopped (the job time limit), never reused', async () => {
    // No deadline of its own for a part: how long one may run is the job's time limit, which stops the run.
    const { code, pidFile } = spawningThen(HANGS_IN_PART);
    setStandIn(code);
    pool = createComputePool({ size: 1, nice: 0, startTimeoutMs: START_TIMEOUT_MS });
    const before = standInForks.length;
    const stop = new AbortController();
    const run = pool.runParts('funds', {}, [1, 2], stop.signal);
    const spawned = await grandchildOf(pidFile);
    // Ready and running its part well past the start deadline: that deadline does not apply any more.
    await new Promise((resolve) => setTimeout(resolve, 1.5 * START_TIMEOUT_MS));
    expect(await settledWithin(run, 0)).toBe('pending');
    stop.abort();
    expect(await settledWithin(run, 2_000)).toMatch(/^rejected: The run was stopped/);
    const hung = standInForks[before]!.proc;
    await vi.waitFor(() => expect(gone(hung.pid!)).toBe(true), { timeout: 2_000 });
    await vi.waitFor(() => expect(gone(spawned)).toBe(true), { timeout: 2_000 });

    setStandIn(WORKS);
    await expect(pool.runParts('funds', {}, [3])).resolves.toEqual([6]);
    expect(standInForks.length - before).toBe(2);
  }, 30_000);

  it('while it loads, with the default deadline: its run fails before the shortest plan job limit ends the job', async () => {
    // The default was the function process's 60 s: a free-plan job (30 s) whose part waited on a process hung at
    // load hit its own time limit first and failed as `timeout`, never retried. Timers faked: no 30 s wait.
    setStandIn(HANGS_LOADING);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      pool = createComputePool({ size: 1, nice: 0 });
      let outcome = 'pending';
      pool.runParts('funds', {}, [1]).then(
        () => (outcome = 'resolved'),
        (error: unknown) => (outcome = `rejected: ${String((error as Error)?.message ?? error)}`),
      );
      const shortestLimitMs = Math.min(...Object.values(PLAN_LIMITS).map((l) => l.jobTimeoutSec)) * 1000;
      await vi.advanceTimersByTimeAsync(shortestLimitMs - 1_000);
      expect(outcome).toMatch(
        /^rejected: A compute process \(pid \d+\) was not ready within [\d.]+ s; killed/,
      );
    } finally {
      vi.useRealTimers();
    }
  }, 30_000);
});
