import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runPartsReporting } from '../../src/functions/job-progress.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import { type ComputePool, createComputePool } from '../../src/runtime/compute-pool.ts';

/**
 * The compute pool's real processes (forked `compute-process`), running parts of the funds model. A process
 * that is killed, or being killed, must never be handed a part: a part sent to it failed with EPIPE, an
 * `error` event nobody listened to, and that ended the whole server (found by a SIGTERM under load).
 */
const INPUT = resolveInput(
  getModel('funds'),
  {},
  { simulations: 2_000, fundLifeYears: 10, periodsPerYear: 4 },
).effectiveInput;
const part = (start: number) => ({ start, count: 100 });

let pool: ComputePool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

/** The command lines of this process's children. */
function childCommandLines(): string[][] {
  const out: string[][] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // The parent pid is the 4th field after the command name (which may hold spaces), `pid (comm) S ppid`.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
      out.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

describe('the compute pool', () => {
  it('forks its processes from the prebuilt bundle, not the TypeScript sources through tsx', async () => {
    // A process is forked again after each idle timeout: through tsx that was 0.8–1.6 s before its first
    // part (docs/benchmarks.md "Session 10").
    pool = createComputePool({ size: 2, nice: 0 });
    await expect(pool.runParts('funds', INPUT, [part(0), part(100)])).resolves.toHaveLength(2);
    const computing = childCommandLines().filter((c) => c.some((a) => a.includes('compute-process')));
    expect(computing.length).toBeGreaterThan(0);
    for (const cmdline of computing) {
      expect(cmdline.some((a) => a.endsWith('dist/functions/compute-process-start.cjs'))).toBe(true);
      expect(cmdline.some((a) => a.includes('tsx'))).toBe(false);
    }
  }, 60_000);

  it('fails a run whose process ends before it is ready with why it ended', async () => {
    // Was "A compute process exited while running a part.": why (here a preload NODE_OPTIONS names that does
    // not exist) was only in the server's raw stderr.
    const before = process.env.NODE_OPTIONS;
    process.env.NODE_OPTIONS = '--require /nonexistent/silopool-preload.cjs';
    try {
      pool = createComputePool({ size: 1, nice: 0 });
      await expect(pool.runParts('funds', INPUT, [part(0)])).rejects.toThrow(
        /ended before it was ready: Error: Cannot find module '\/nonexistent\/silopool-preload\.cjs'/,
      );
    } finally {
      if (before === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = before;
    }
  }, 60_000);

  it('runs the other runs to the end when one run is stopped mid-way (its processes killed)', async () => {
    pool = createComputePool({ size: 2, nice: 0 });
    const stop = new AbortController();
    const stopped = pool.runParts('funds', INPUT, [part(0), part(100), part(200), part(300)], stop.signal);
    const other = pool.runParts('funds', INPUT, [part(400), part(500), part(600)]);
    stop.abort();
    await expect(stopped).rejects.toThrow('stopped');
    // Sent at once, while the killed processes have not exited yet: they must not be chosen.
    const after = pool.runParts('funds', INPUT, [part(700), part(800)]);
    await expect(other).resolves.toHaveLength(3);
    await expect(after).resolves.toHaveLength(2);
  }, 60_000);

  it("stops a run's other parts once one of its parts fails: a failed job's work does not go on", async () => {
    // Before, the run rejected at its first failed part while its other parts still ran (seconds of a core
    // each, at the expense of every other job's parts) and the queue retried the job beside them.
    await expectFailedRunStopped(childPids, (computing, input, parts) =>
      computing.runParts('funds', input, parts),
    );
  }, 60_000);

  it("stops a reported run's other parts once one fails: each part is a run of its own there", async () => {
    // A run that reports progress (runPartsReporting, every funds job with a plan) sends each part as its own
    // run, so a failed part cancelled only itself: the job failed and was retried while its other parts ran
    // on for seconds of a core each.
    await expectFailedRunStopped(computePids, (computing, input, parts) =>
      runPartsReporting(
        getModel('funds'),
        input,
        parts,
        (model, i, p, signal) => computing.runParts(model, i, p, signal),
        () => undefined,
      ),
    );
  }, 60_000);

  it('gives parts only to live processes when one dies between two parts', async () => {
    pool = createComputePool({ size: 1, nice: 0 });
    await pool.runParts('funds', INPUT, [part(0)]);
    // Kill the one process from outside (the OOM killer, an operator), then send at once.
    const pids = await childPids();
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const results = await Promise.allSettled([
      pool.runParts('funds', INPUT, [part(100)]),
      pool.runParts('funds', INPUT, [part(200)]),
    ]);
    // A part already sent to the dead process fails (its run is retried by the queue); none hangs, and
    // the process stays up to run the next ones.
    for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/compute process/);
    await expect(pool.runParts('funds', INPUT, [part(300), part(400)])).resolves.toHaveLength(2);
  }, 60_000);

  it('fails the parts still waiting when it is closed, and a run asked after, instead of leaving them pending', async () => {
    pool = createComputePool({ size: 1, nice: 0 });
    const running = pool.runParts('funds', INPUT, [part(0)]);
    const waiting = pool.runParts('funds', INPUT, [part(100)]);
    await pool.close();
    expect(await settledWithin(running, 5_000)).toBe('rejected');
    expect(await settledWithin(waiting, 5_000)).toBe('rejected');
    expect(await settledWithin(pool.runParts('funds', INPUT, [part(200)]), 5_000)).toBe('rejected');
  }, 30_000);

  it('a part that cannot be sent (it does not serialize) fails its run alone, never a throw', async () => {
    pool = createComputePool({ size: 1, nice: 0 });
    const started = pool;
    const outcome = await (async () => {
      try {
        return await started.runParts('funds', INPUT, [() => 0]).then(
          () => 'resolved',
          () => 'rejected',
        );
      } catch {
        return 'threw';
      }
    })();
    expect(outcome).toBe('rejected');
    await expect(pool.runParts('funds', INPUT, [part(0)])).resolves.toHaveLength(1);
  }, 30_000);

  it('a run it cannot start a process for (no file descriptors) is a rejected promise, never a throw', async () => {
    // The throw came out of `runParts` (and of `dispatch` in the pool's event handlers): in the server, out
    // of a function thread's message handler, an uncaught exception that ended the process.
    const script = fileURLToPath(new URL('./compute-pool-no-fds.ts', import.meta.url));
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
      execFile(
        'bash',
        ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, '--import', 'tsx', script],
        { timeout: 30_000 },
        (error, out, err) =>
          error ? reject(new Error(`${error.message}\n${err}`)) : resolve({ stdout: out }),
      ),
    );
    const { first, second } = JSON.parse(stdout) as { first: string; second: string };
    expect(first).toMatch(/^rejected: No compute process could be started/);
    expect(second).toBe('resolved');
  }, 30_000);
});

/** How a promise ended within `ms`: 'resolved', 'rejected' or still 'pending'. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => 'resolved',
      () => 'rejected',
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('pending'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** This process's children (the pool's processes), from /proc. */
async function childPids(): Promise<number[]> {
  const { readFileSync, readdirSync } = await import('node:fs');
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    });
}

/** This process's children that are compute processes (vitest may have others, esbuild's service). */
async function computePids(): Promise<number[]> {
  const { readFileSync } = await import('node:fs');
  return (await childPids()).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('compute-process');
    } catch {
      return false;
    }
  });
}

/**
 * A pool of one process, warmed; then a run of three parts (`start` runs it) whose first part the model
 * cannot run (no range) and whose two others are seconds of work each. The run must reject, the process
 * running the next part must be ended (a part cannot be interrupted any other way) within 3 s, and the
 * pool must run what comes next at once. `pids` lists the pool's processes.
 */
async function expectFailedRunStopped(
  pids: () => Promise<number[]>,
  start: (computing: ComputePool, input: unknown, parts: unknown[]) => Promise<unknown>,
): Promise<void> {
  pool = createComputePool({ size: 1, nice: 0 });
  const computing = pool;
  await computing.runParts('funds', INPUT, [part(0)]);
  const before = await pids();
  // Processes of earlier tests may still be exiting: they go too, so only "some" is asserted here.
  expect(before.length).toBeGreaterThan(0);
  const long = resolveInput(
    getModel('funds'),
    {},
    { simulations: 100_000, fundLifeYears: 30, periodsPerYear: 4 },
  ).effectiveInput;
  const slow = { start: 0, count: 100_000 };
  await expect(start(computing, long, [null, slow, slow])).rejects.toThrow();
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline && (await pids()).some((pid) => before.includes(pid)))
    await new Promise((r) => setTimeout(r, 50));
  expect((await pids()).filter((pid) => before.includes(pid))).toEqual([]);
  expect(await settledWithin(computing.runParts('funds', INPUT, [part(100)]), 10_000)).toBe('resolved');
}
