import type { ChildProcess } from 'node:child_process';
import type { BackoffPolicy } from '../core/backoff.ts';
import { SPARE_ARGUMENT } from './child-protocol.ts';
import { forkPrebuilt } from './prebuilt.ts';
import { hasEnded, stopProcess } from './process-stop.ts';
import { createRestartBackoff } from './restart-backoff.ts';
import { uncaughtError } from './start-failure.ts';

/**
 * Forks a dedicated function process: the prebuilt bundle of src/entry/function-process.ts where there is one
 * (the TypeScript source through tsx otherwise), its heap limited to `memoryMb` (the tenant's function
 * memory setting), with an IPC channel using the `advanced` serialization.
 * @param argument the tenant's `FunctionProcessOptions` as JSON, or SPARE_ARGUMENT
 * @param memoryMb the V8 old-space limit, MiB (at least 64 is passed)
 * @throws when no process started: what `fork` throws (ENOMEM), or an Error from `startedProcess`
 */
export function forkFunctionProcess(argument: string, memoryMb: number): ChildProcess {
  // The main is the entry point's (it wires the adapters); named by path, as the prebuilt table names it.
  const proc = forkPrebuilt(
    'function-process',
    { relative: '../entry/function-process', base: import.meta.url },
    [argument],
    {
      extraExecArgv: [`--max-old-space-size=${Math.max(64, Math.trunc(memoryMb))}`],
      // stderr is passed on; piped, it also tells why a process that ends before it is ready ended.
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'advanced',
      // A group of its own: a stop signal sent to the server's process group (Ctrl+C, `kill -TERM -PGID`)
      // must not end the tenant's job mid-run; the host drains it, then ends the process. The process
      // also ends by itself when the host's channel closes (the host's crash included).
      detached: true,
    },
  );
  return startedProcess(proc);
}

/**
 * `proc` when its fork started a process; else throws. A spawn that fails asynchronously (EAGAIN: out of
 * processes; EMFILE: out of file descriptors) leaves a ChildProcess with no pid that emits `error` and never
 * `exit`: held as a process, it was waited on for good (a function failed every event, a spare filled its
 * slot). Its `error` is heard here, so it is never an unhandled one.
 */
export function startedProcess(proc: ChildProcess): ChildProcess {
  if (proc.pid !== undefined) return proc;
  proc.on('error', () => undefined);
  throw new Error('fork started no process (out of processes, memory or file descriptors)');
}

/** A spare handed over: the process, and whether it has loaded (said `spare`) already. */
export interface TakenSpare {
  proc: ChildProcess;
  /** false: its `{ type: 'spare' }` report is still to come, to the taker's own listener. */
  loaded: boolean;
  /** The end of what it wrote to stderr so far (the taker keeps it: it may say why the process ends). */
  stderr: string;
}

/**
 * Dedicated function processes forked ahead of need and bound to no tenant (the embedded analogue of the
 * execution environments Lambda initialises before an invoke needs one): Node, the bundle, SQLite and the
 * model code are loaded, no tenant's store is open. A cold start takes one and sends it its tenant
 * (`bind`); it then opens that tenant's store, as a freshly forked one does, and says `ready`. A process is
 * bound once and never reused for another tenant (it ends with its function, as any does).
 */
export interface SpareProcesses {
  /**
   * A spare forked with `memoryMb` (loaded, or still loading), handed over with none of this pool's
   * listeners left on it, or undefined when there is none (the caller forks a process of its own). Another
   * is forked behind it after REFILL_DELAY_MS.
   */
  take(memoryMb: number): TakenSpare | undefined;
  /** How many spares to keep ready: 0 stops those there are (the host keeps some while it has dedicated lanes). */
  keep(count: number): void;
  /** Spares forked and not handed over now: `loaded` (said `spare`) and still `loading`. */
  size(): { loaded: number; loading: number };
  /** Stops every spare (SIGTERM; SIGKILL after 2 s) and forks no more. */
  close(): Promise<void>;
}

export interface SpareProcessOptions {
  /** The memory setting spares are forked with (the default function memory): a tenant with another forks its own. */
  memoryMb: number;
  /** Forks one spare; forkFunctionProcess(SPARE_ARGUMENT, memoryMb) unless a test passes another. */
  fork?(memoryMb: number): ChildProcess;
  /**
   * How long a spare may take to load (say `spare`), ms; default LOAD_TIMEOUT_MS. One that has not is stopped
   * and counted as one that crashed: held, it filled its slot for good and every cold start that took it
   * waited for it until its event timed out.
   */
  loadTimeoutMs?: number;
  onError?(error: unknown): void;
}

/** The wait before a spare is forked behind one taken: the taker's first job runs without a fork beside it (ms). */
export const REFILL_DELAY_MS = 1000;
/** Spares that end by themselves (a crash at load) are forked again after this, doubled per failure in a row. */
const RESPAWN: BackoffPolicy = { baseMs: 1000, maxMs: 60_000 };
const CLOSE_GRACE_MS = 2000;
/**
 * A spare that ends by itself sooner than this after it loaded counts as one that failed to start: the wait
 * before the next is not reset by its load (ms; the provisioned processes' rule, process-runtime.ts).
 */
const MIN_LIFE_MS = 10_000;
/** A spare loads in 0.1–0.3 s (through tsx, without a prebuilt bundle, in 2–3 s): one not loaded by this is stuck. */
export const LOAD_TIMEOUT_MS = 60_000;

interface Spare {
  proc: ChildProcess;
  loaded: boolean;
  /** The end of its stderr so far. */
  stderr(): string;
  /** When it said `spare` (performance.now(), ms). */
  loadedAt: number;
  /** This pool's listeners, removed when the spare is handed over. */
  detach(): void;
}

/** Keeps up to `keep(count)` spare function processes; see SpareProcesses. */
export function createSpareProcesses(options: SpareProcessOptions): SpareProcesses {
  const fork = options.fork ?? ((memoryMb: number) => forkFunctionProcess(SPARE_ARGUMENT, memoryMb));
  const spares = new Set<Spare>();
  /** Spares being stopped (kept fewer, or closed): `close` waits for them. */
  const ending = new Set<ChildProcess>();
  let wanted = 0;
  let closed = false;
  /** Spares in a row that ended by themselves: the next is forked after longer. */
  const respawns = createRestartBackoff(RESPAWN, () => fill());
  /** The refill behind a spare taken. */
  let refill: NodeJS.Timeout | undefined;

  /**
   * Stops a spare taken out of `spares` (and detached): kept fewer, closed, or stuck loading. What it writes
   * until it ends (why it could not stop, an error of its shutdown) still reaches the server's stderr: its
   * pass-through was one of the listeners detached, and a spare is only handed over when taken.
   */
  function stop(proc: ChildProcess): void {
    if (hasEnded(proc)) return;
    proc.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    ending.add(proc);
    proc.once('exit', () => ending.delete(proc));
    stopProcess(proc, 'SIGTERM', CLOSE_GRACE_MS, (why) =>
      options.onError?.(new Error(`A spare function process: ${why}.`)),
    );
  }

  /** Counts a spare that failed (crashed, never started, stuck loading): the next is forked after a wait. */
  function failed(what: string, why?: string): void {
    const waitMs = respawns.failed();
    options.onError?.(new Error(`${what}${why ? `: ${why}` : ''}; another is forked in ${waitMs} ms.`));
  }

  /** Forks one spare; false when no process started (counted as a failure: the next waits). */
  function forkOne(): boolean {
    let proc: ChildProcess;
    try {
      proc = startedProcess(fork(options.memoryMb));
    } catch (error) {
      // In a timer (the refill, a respawn) a throw ended the server; a fork that started no process held a
      // slot as `loading` for good, and no spare was forked again.
      failed(`A spare function process could not be forked (${String(error)})`);
      return false;
    }
    let stderr = '';
    const loadTimeoutMs = options.loadTimeoutMs ?? LOAD_TIMEOUT_MS;
    const loading = setTimeout(() => {
      if (!spares.delete(spare)) return;
      spare.detach();
      stop(proc);
      failed(
        `A spare function process (pid ${proc.pid}) did not load within ${loadTimeoutMs / 1000} s and was stopped`,
      );
    }, loadTimeoutMs);
    loading.unref();
    const spare: Spare = {
      proc,
      loaded: false,
      loadedAt: 0,
      stderr: () => stderr,
      detach: () => {
        clearTimeout(loading);
        proc.off('message', onMessage);
        proc.off('exit', onExit);
        proc.off('error', onFailure);
        proc.stderr?.off('data', onStderr);
      },
    };
    const onStderr = (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderr = (stderr + chunk.toString('utf8')).slice(-8192);
    };
    const onMessage = (message: unknown) => {
      if ((message as { type?: unknown } | null)?.type !== 'spare' || spare.loaded) return;
      spare.loaded = true;
      spare.loadedAt = performance.now();
      clearTimeout(loading);
    };
    const onFailure = (error: unknown) => options.onError?.(error);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      spare.detach();
      if (!spares.delete(spare)) return;
      // It ended by itself (no stop of ours: those are taken out of `spares` first). One that crashed right
      // after it loaded (each load had reset the wait) was forked again every second for good.
      if (spare.loaded && performance.now() - spare.loadedAt >= MIN_LIFE_MS) respawns.succeeded();
      failed(
        `A spare function process exited (${signal ?? code}) ${spare.loaded ? 'while it waited' : 'before it loaded'}`,
        uncaughtError(stderr),
      );
    };
    proc.on('message', onMessage);
    proc.on('exit', onExit);
    proc.on('error', onFailure);
    proc.stderr?.on('data', onStderr);
    spares.add(spare);
    return true;
  }

  /**
   * Stops spares above `wanted` at once; forks up to it unless a respawn wait is under way (its end fills),
   * and no further once a fork fails (that starts a wait).
   */
  function fill(): void {
    if (closed) return;
    while (spares.size > wanted) {
      const spare = [...spares].at(-1)!;
      spares.delete(spare);
      spare.detach();
      stop(spare.proc);
    }
    while (spares.size < wanted && !respawns.waiting()) if (!forkOne()) return;
  }

  return {
    take(memoryMb) {
      if (closed || Math.trunc(memoryMb) !== Math.trunc(options.memoryMb)) return undefined;
      // A loaded one first; else the one loading longest (it is nearer ready than a new fork).
      const pick =
        [...spares].find((s) => s.loaded && s.proc.connected) ?? [...spares].find((s) => s.proc.connected);
      if (!pick) return undefined;
      spares.delete(pick);
      pick.detach();
      // Loaded and handed over: a start that worked, the next failure waits the shortest time again.
      if (pick.loaded) respawns.succeeded();
      if (!refill) {
        refill = setTimeout(() => {
          refill = undefined;
          fill();
        }, REFILL_DELAY_MS);
        refill.unref();
      }
      return { proc: pick.proc, loaded: pick.loaded, stderr: pick.stderr() };
    },
    keep(count) {
      const next = Math.max(0, Math.trunc(count));
      if (next === wanted) return;
      wanted = next;
      fill();
    },
    size() {
      let loaded = 0;
      for (const spare of spares) if (spare.loaded) loaded++;
      return { loaded, loading: spares.size - loaded };
    },
    async close() {
      closed = true;
      clearTimeout(refill);
      respawns.stop();
      for (const spare of spares) {
        spare.detach();
        stop(spare.proc);
      }
      spares.clear();
      await Promise.all(
        [...ending].map((proc) =>
          hasEnded(proc) ? undefined : new Promise<void>((resolve) => proc.once('exit', () => resolve())),
        ),
      );
    },
  };
}
