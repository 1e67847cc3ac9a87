import { type ChildProcess, type ForkOptions, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll } from 'vitest';
import type * as Prebuilt from '../../src/runtime/prebuilt.ts';
import type { FunctionThreadsOptions } from '../../src/runtime/worker-pool.ts';

// Stand-in function processes: small CommonJS scripts that speak the child protocol (or break it) in place
// of the prebuilt bundle, forked the way the runtime forks a function process. A test file that mocks
// forkPrebuilt with them writes
//
//   vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
//     (await import('./stand-in.ts')).prebuiltForkingStandIn(original));
//
// and names its stand-in with setStandIn(code). Stand-in shared function threads likewise: startPrebuiltWorker
// mocked with prebuiltStartingStandInThreads, the thread's script named with setThreadStandIn(code). This module imports nothing of src/runtime (only types): the
// mock's factory imports it while prebuilt.ts is being mocked. The runtimes around it are stand-in-runtime.ts.

const folders: string[] = [];
/** Processes forked here (stand-ins and spares' scripts): any still running when the file ends is killed. */
const forked: ChildProcess[] = [];
afterAll(async () => {
  for (const proc of forked.splice(0)) if (running(proc)) proc.kill('SIGKILL');
  await Promise.all(standInThreads.splice(0).map((worker) => worker.terminate()));
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const running = (proc: ChildProcess) =>
  proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null;

/** A new temporary folder, removed when the test file ends. */
export function tempDir(prefix = 'silopool-stand-in-'): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  folders.push(folder);
  return folder;
}

/**
 * Writes `code` (CommonJS, run by plain Node) as `name` in `folder` (default: a temporary folder of its own);
 * returns its path.
 */
export function writeStandIn(code: string, name = 'stand-in.cjs', folder = tempDir()): string {
  const script = join(folder, name);
  writeFileSync(script, code);
  return script;
}

/**
 * Forks `script` as spare-processes.ts forks a function process (stderr piped, an IPC channel, a process group
 * of its own), with no exec flags; `options` overrides.
 */
export function forkStandIn(
  script: string,
  args: readonly string[] = [],
  options: ForkOptions = {},
): ChildProcess {
  const proc = fork(script, [...args], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    detached: true,
    ...options,
    execArgv: [],
  });
  forked.push(proc);
  return proc;
}

/**
 * A fork that starts no process, the way one fails when the machine is out of processes (EAGAIN): no pid, an
 * `error` event, never `exit`.
 */
export function forkStartingNoProcess(options: ForkOptions = {}): ChildProcess {
  const folder = tempDir();
  return fork(join(folder, 'x.cjs'), [], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    ...options,
    execPath: join(folder, 'no-such-node'),
  });
}

/** A fork through the mocked forkPrebuilt: the process and the exec flags the runtime asked for (the heap limit). */
export interface StandInFork {
  proc: ChildProcess;
  flags: readonly string[];
}

/** Every fork through the mocked forkPrebuilt, in order. */
export const standInForks: StandInFork[] = [];
/** What the next forks through the mocked forkPrebuilt do, in order; past the list each forks the stand-in. */
export const forkPlan: ('no-process' | 'throws')[] = [];
let standIn: string | undefined;

/** Writes the stand-in the mocked forkPrebuilt forks from now on; returns its path. */
export function setStandIn(code: string): string {
  standIn = writeStandIn(code);
  return standIn;
}

/** SIGKILLs the stand-ins forked so far and forgets them (a test's forks are then counted from none). */
export function killStandIns(): void {
  for (const { proc } of standInForks.splice(0)) if (running(proc)) proc.kill('SIGKILL');
}

/**
 * prebuilt.ts with its forkPrebuilt replaced (for vi.mock): it forks the stand-in of `setStandIn` with the
 * options the runtime passed (stdio, serialization, `detached`), no exec flags, or fails as `forkPlan` says.
 */
export async function prebuiltForkingStandIn(original: () => Promise<unknown>): Promise<typeof Prebuilt> {
  const actual = (await original()) as typeof Prebuilt;
  const forkPrebuilt: typeof Prebuilt.forkPrebuilt = (_entry, _source, args, options) => {
    if (standIn === undefined) throw new Error('no stand-in: call setStandIn(code) first');
    const next = forkPlan.shift();
    if (next === 'throws') throw Object.assign(new Error('spawn ENOMEM'), { code: 'ENOMEM' });
    const { extraExecArgv = [], ...rest } = options;
    const proc = fork(standIn, [...args], {
      ...rest,
      execArgv: [],
      ...(next === 'no-process' ? { execPath: join(dirname(standIn), 'no-such-node') } : {}),
    });
    standInForks.push({ proc, flags: extraExecArgv });
    forked.push(proc);
    return proc;
  };
  return { ...actual, forkPrebuilt };
}

/** Every thread started through the mocked startPrebuiltWorker, in order. */
export const standInThreads: Worker[] = [];
let threadStandIn: string | undefined;
const endedThreads = new WeakSet<Worker>();
/** Whether a thread of `standInThreads` has exited. */
export const threadEnded = (worker: Worker) => endedThreads.has(worker);

/**
 * Writes the stand-in thread the mocked startPrebuiltWorker starts from now on (CommonJS, run by plain Node in a
 * worker thread; it reports to the pool as function-thread.ts does, an array of reports per message, e.g.
 * `parentPort.postMessage([{ type: 'ready' }])`); returns its path.
 */
export function setThreadStandIn(code: string): string {
  threadStandIn = writeStandIn(code, 'thread-stand-in.cjs');
  return threadStandIn;
}

/**
 * prebuilt.ts with its startPrebuiltWorker replaced (for vi.mock): it starts the stand-in of `setThreadStandIn`
 * as a worker thread with the options the pool passed (its workerData), no exec flags.
 */
export async function prebuiltStartingStandInThreads(
  original: () => Promise<unknown>,
): Promise<typeof Prebuilt> {
  const actual = (await original()) as typeof Prebuilt;
  const startPrebuiltWorker: typeof Prebuilt.startPrebuiltWorker = (_entry, _source, options) => {
    if (threadStandIn === undefined) throw new Error('no stand-in: call setThreadStandIn(code) first');
    const worker = new Worker(threadStandIn, { ...options, execArgv: [] });
    standInThreads.push(worker);
    worker.once('exit', () => endedThreads.add(worker));
    return worker;
  };
  return { ...actual, startPrebuiltWorker };
}

/** The settings of a pool whose threads are the stand-in: one thread a core, one job at a time, no extra queues. */
export function standInThreadSettings(): FunctionThreadsOptions['settings'] {
  return {
    factory: { module: 'stand-in', prebuilt: 'function-thread-embedded', options: {} },
    cores: 1,
    perThread: 1,
    batchSize: 1,
    visibilityTimeoutSec: 30,
    queues: [],
  };
}
