import type { ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { PLAN_LIMITS } from '../core/tenant.ts';
import { forkPrebuilt } from './prebuilt.ts';
import { signalProcess } from './process-stop.ts';
import { watchStartErrors } from './start-failure.ts';

export interface ComputePool {
  /**
   * Runs every part of a model run, spread over the pool; results in the order of `parts`. When `signal`
   * aborts (the job was stopped), or when one of its parts fails, its parts not started are dropped and the
   * processes running one are killed (the pool starts new ones as work arrives), and the call rejects.
   */
  runParts(model: string, input: unknown, parts: unknown[], signal?: AbortSignal): Promise<unknown[]>;
  close(): Promise<void>;
}

/**
 * How long a compute process may take from its fork to `ready` by default, ms: half the shortest plan's job
 * time limit (free, 30 s), 15 s. Its part waits for it within its job's time limit: with the function
 * process's 60 s (START_TIMEOUT_MS), a process hung at load on a free-plan job let the job's limit fire
 * first, and the job failed as `timeout` (never retried) for no fault of its input. A prebuilt one is ready
 * in 0.1–0.3 s, through tsx in 2–3 s, a few times that at `nice` 10 on a loaded 2-core machine (docs/benchmarks.md).
 * A tenant's own limit below 30 s (`jobTimeoutSec` may be 1) can still end first.
 */
export const COMPUTE_START_TIMEOUT_MS =
  (Math.min(...Object.values(PLAN_LIMITS).map((plan) => plan.jobTimeoutSec)) * 1000) / 2;

interface Task {
  id: number;
  /** The run it is a part of. */
  run: number;
  model: string;
  input: unknown;
  part: unknown;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Member {
  child: ChildProcess;
  /** Set once the process has said it is ready (its modules loaded). */
  ready?: boolean;
  task?: Task;
  idleTimer?: NodeJS.Timeout;
  /** Kills it if it is not ready within the start deadline of its fork; cleared once it is. */
  startTimer?: NodeJS.Timeout;
}

/** What a compute pool is made with. */
export interface ComputePoolOptions {
  /** Processes at most (started as parts arrive). */
  size: number;
  /** Their OS priority (`nice`, default 10). */
  nice?: number;
  /** How long a process may stay idle before it is ended, ms (default 30 s: scale to zero). */
  idleMs?: number;
  /**
   * How long a process may take from its fork to `ready`, ms; default COMPUTE_START_TIMEOUT_MS (15 s). One not
   * ready by then is killed with its process group, and the part sent to it fails its run (the job's delivery
   * is retried).
   */
  startTimeoutMs?: number;
}

/**
 * Processes that run the parts of big model runs (a 10,000-path simulation) on every core. They run
 * at a lower OS priority (`nice`), so the function threads running other tenants' small jobs, and the
 * API, take the CPU first: a big job soaks up idle cores without delaying anyone.
 */
export function createComputePool(options: ComputePoolOptions): ComputePool {
  const members: Member[] = [];
  const waiting: Task[] = [];
  let nextId = 1;
  let nextRun = 1;
  let closed = false;

  /** Ends a stopped run's parts: a part is CPU work a process cannot be asked to give up, so it is killed. */
  function cancel(run: number, reason: Error): void {
    for (let i = waiting.length - 1; i >= 0; i--) {
      if (waiting[i]!.run !== run) continue;
      waiting.splice(i, 1)[0]!.reject(reason);
    }
    for (const member of [...members]) {
      if (member.task?.run !== run) continue;
      member.task.reject(reason);
      member.task = undefined;
      retire(member, 'SIGKILL');
    }
  }

  /**
   * Takes a process out of the pool at once, then ends it: until its `exit` event it would otherwise still
   * look idle, and a part sent to it then fails with EPIPE (found by a stop under load, where an unheard
   * `error` event of that kind ended the whole server).
   */
  function retire(member: Member, signal: NodeJS.Signals = 'SIGTERM'): void {
    const index = members.indexOf(member);
    if (index >= 0) members.splice(index, 1);
    clearTimeout(member.idleTimer);
    member.idleTimer = undefined;
    clearTimeout(member.startTimer);
    // Its process group: anything a part started ends with it.
    signalProcess(member.child, signal);
  }

  /** Fails every part still waiting: nothing will take them (the pool is closed, or no process starts). */
  function failWaiting(reason: Error): void {
    for (const task of waiting.splice(0)) task.reject(reason);
  }

  /**
   * A new process, or why none started. `fork` throws some failures (ENOMEM) and reports others (EMFILE,
   * ENFILE, EAGAIN) by an `error` event on the next tick, handing back a child without a pid, and after
   * EMFILE without a channel (no `send`): neither may reach `dispatch`, whose callers are event handlers,
   * where a throw ends the server.
   */
  function spawn(): Member | Error {
    let child: ChildProcess;
    try {
      // The prebuilt bundle where there is one (no tsx compiling the models in every new process).
      child = forkPrebuilt('compute-process', { relative: './compute-process', base: import.meta.url }, [], {
        serialization: 'advanced',
        // stderr is passed on; piped, it also tells why a process that ends before it is ready ended.
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
        // A group of its own: a stop signal sent to the server's process group (Ctrl+C, `kill -TERM -PGID`)
        // must not end a part mid-run, even one still loading its modules; the host ends it after draining,
        // and it ends by itself when the host's channel closes (the host's crash included).
        detached: true,
      });
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
    if (child.pid === undefined) {
      child.on('error', () => undefined);
      try {
        if (child.connected) child.disconnect();
      } catch {
        // A channel that never opened: nothing to close.
      }
      return new Error('fork started no process (out of processes, memory or file descriptors)');
    }
    try {
      setPriority(child.pid, options.nice ?? 10);
    } catch {
      // Not permitted in some sandboxes: the pool still works, only without the priority hint.
    }
    const member: Member = { child };
    const starting = watchStartErrors(child);
    // A process stuck while it loads (a module that never finishes loading, a machine thrashing) held its part
    // until the job's time limit (30–900 s by plan), and the job then failed as `timeout`, never retried, for
    // what was no fault of its input. Timed from the fork, not from a part: one left without a part while it
    // loads (its part could not be serialized) is killed as well.
    const startTimeoutMs = options.startTimeoutMs ?? COMPUTE_START_TIMEOUT_MS;
    member.startTimer = setTimeout(() => {
      if (member.ready) return;
      const task = member.task;
      member.task = undefined;
      retire(member, 'SIGKILL');
      if (task) {
        const missed = new Error(
          `A compute process (pid ${child.pid}) was not ready within ${startTimeoutMs / 1000} s; killed.`,
        );
        task.reject(missed);
        // Its run has failed: its parts still waiting go now, before the dispatch below starts a process for them.
        cancel(task.run, missed);
      }
      dispatch();
    }, startTimeoutMs);
    member.startTimer.unref();
    child.on('message', (message: { id?: number; result?: unknown; error?: string; ready?: boolean }) => {
      if (message.ready) {
        member.ready = true;
        clearTimeout(member.startTimer);
        starting.ready();
        return;
      }
      const task = member.task;
      if (!task || task.id !== message.id) return;
      member.task = undefined;
      if (message.error !== undefined) task.reject(new Error(message.error));
      else task.resolve(message.result);
      dispatch();
    });
    child.on('exit', () => {
      clearTimeout(member.startTimer);
      const index = members.indexOf(member);
      if (index >= 0) members.splice(index, 1);
      const task = member.task;
      member.task = undefined;
      if (task && member.ready) task.reject(new Error('A compute process exited while running a part.'));
      // One that never got ready (a bad flag in NODE_OPTIONS, a broken install): the run fails with why.
      else if (task)
        void starting
          .reason()
          .then((why) =>
            task.reject(new Error(`A compute process ended before it was ready${why ? `: ${why}` : '.'}`)),
          );
      dispatch();
    });
    // A channel error (EPIPE from a process that died between two parts, a failed spawn) ends the process
    // for the pool; its part, if one was sent, fails as on an exit. Never an unheard `error` event.
    child.on('error', () => {
      const task = member.task;
      member.task = undefined;
      retire(member, 'SIGKILL');
      task?.reject(new Error('A compute process failed while running a part.'));
      dispatch();
    });
    members.push(member);
    return member;
  }

  function dispatch(): void {
    while (waiting.length > 0 && !closed) {
      let member = members.find((m) => !m.task && m.child.connected);
      if (!member && members.length < options.size) {
        const started = spawn();
        if (started instanceof Error) {
          // The processes there are take the waiting parts as they finish; with none, nothing ever would
          // (their runs fail now, and their jobs are retried by the queue).
          if (members.length === 0)
            failWaiting(
              new Error(`No compute process could be started: ${started.message}`, { cause: started }),
            );
          break;
        }
        member = started;
      }
      if (!member) break;
      const task = waiting.shift()!;
      clearTimeout(member.idleTimer);
      member.idleTimer = undefined;
      member.task = task;
      const sentTo = member;
      try {
        sentTo.child.send({ id: task.id, model: task.model, input: task.input, part: task.part }, (error) => {
          if (!error || sentTo.task !== task) return;
          // The part never reached the process: it goes back to the front, the process goes.
          sentTo.task = undefined;
          retire(sentTo, 'SIGKILL');
          waiting.unshift(task);
          queueMicrotask(dispatch);
        });
      } catch (error) {
        // A part that cannot be serialized fails on its own; the process never saw it and stays.
        sentTo.task = undefined;
        task.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    for (const member of members) {
      if (member.task || member.idleTimer) continue;
      // Scale to zero when no big run needs the pool.
      member.idleTimer = setTimeout(() => {
        if (!member.task) retire(member);
      }, options.idleMs ?? 30_000);
      member.idleTimer.unref();
    }
  }

  return {
    runParts(model, input, parts, signal) {
      if (closed) return Promise.reject(new Error('The compute pool is closed.'));
      const run = nextRun++;
      const done = Promise.all(
        parts.map(
          (part) =>
            new Promise<unknown>((resolve, reject) => {
              waiting.push({ id: nextId++, run, model, input, part, resolve, reject });
            }),
        ),
      );
      if (signal?.aborted) cancel(run, new Error('The run was stopped.'));
      else {
        const onAbort = () => cancel(run, new Error('The run was stopped.'));
        signal?.addEventListener('abort', onAbort, { once: true });
        done.then(
          () => signal?.removeEventListener('abort', onAbort),
          (error: unknown) => {
            signal?.removeEventListener('abort', onAbort);
            // One part failed, so the run has: its other parts would only take cores from every other
            // job's (and from the run's own retry), so they are dropped, or ended where they run.
            cancel(run, error instanceof Error ? error : new Error(String(error)));
          },
        );
        dispatch();
      }
      return done;
    },
    async close() {
      closed = true;
      // The host has drained by now: a part still running belongs to a job being cut short, and a part
      // still waiting would otherwise wait for ever (nothing dispatches once closed).
      const reason = new Error('The compute pool was closed.');
      for (const m of [...members]) {
        m.task?.reject(reason);
        m.task = undefined;
        retire(m, 'SIGKILL');
      }
      failWaiting(reason);
    },
  };
}
