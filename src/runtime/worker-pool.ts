import type { Worker } from 'node:worker_threads';
import { type BackoffPolicy, backoffMs } from '../core/backoff.ts';
import { MAX_JOB_TIMEOUT_SEC } from '../core/tenant.ts';
import type { ComputePool } from './compute-pool.ts';
import { START_TIMEOUT_MS } from './function-child.ts';
import type {
  FunctionReport,
  FunctionRequest,
  FunctionThreadSettings,
  HeldMessage,
} from './function-runtime.ts';
import type { JobNotice } from './job-events.ts';
import { startPrebuiltWorker } from './prebuilt.ts';
import { LIVENESS_TIMEOUT_MS, watchThreadLiveness } from './thread-liveness.ts';
import { recoverHeld, type ThreadRecoveryOptions } from './thread-recovery.ts';
import { startVisibilityHeartbeat } from './visibility-heartbeat.ts';

interface Thread {
  worker: Worker;
  /**
   * Messages it claimed and has not finished, by receipt handle, with their time-limit timers, when they
   * started (epoch ms) and whether the thread is settling them (no longer extended).
   */
  held: Map<string, { message: HeldMessage; since: number; timer?: NodeJS.Timeout; settling?: boolean }>;
  /** Aborted when the thread ends: the compute pool then drops and kills the parts it asked for. */
  computing: AbortController;
  /** Its compute runs not yet settled, by the thread's id for them: each can be cancelled alone. */
  runs: Map<number, AbortController>;
  stopped: Promise<void>;
  /** Resolves once the thread has exited and what it held went back (or was settled). */
  exited: Promise<void>;
  /** Set when the host ended the thread for a message past its time limit. */
  timedOut?: HeldMessage;
  /** Set once the thread has posted `ready` (its factory built its stores). */
  ready?: boolean;
  /** Ends the thread if it is not ready by the start deadline; cleared at `ready` and at its exit. */
  startTimer?: NodeJS.Timeout;
  /** Set when the host ended the thread for not being ready by its start deadline. */
  missedStart?: boolean;
  /** When the host asked it for a sign of life (`ping`) not answered yet (epoch ms). */
  pingedAt?: number;
  /** Set when the host ended the thread for not answering while it held no job. */
  unresponsive?: boolean;
}

/** The wait before a thread that ended before it was ready is replaced, doubled for each one after. */
const START_RETRY: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

export interface FunctionThreadsOptions extends ThreadRecoveryOptions {
  size: number;
  settings: Omit<FunctionThreadSettings, 'extraQueues'>;
  /**
   * Milliseconds a message's job may run (a promise while it is looked up, `maxTimeLimitMs` meanwhile);
   * undefined (or a lookup that fails): `maxTimeLimitMs`. Every held message has a limit: a thread hung on one with none (an endless
   * loop in model code, an await that never settles) held it for good, its visibility extended for ever.
   */
  timeLimitMs?(message: HeldMessage): number | undefined | Promise<number | undefined>;
  /** The limit of a message `timeLimitMs` gives none for, ms; default MAX_JOB_TIMEOUT_SEC (900 s). */
  maxTimeLimitMs?: number;
  /**
   * Settles the job of a message whose run passed its time limit (its thread is gone): true when the
   * message is done with, false when its job never started and it goes back (see `settle`); undefined: not
   * settled, retried after a backoff like a crash (a dedicated lane's, as Lambda retries).
   */
  settleTimedOut?(message: HeldMessage): Promise<boolean> | undefined;
  /**
   * How long a ready thread holding no job the host knows of may leave a `ping` unanswered, ms; default
   * LIVENESS_TIMEOUT_MS (30 s). One that does not is hung outside a job (between a claim and its `started`,
   * or between jobs): it is ended and replaced, and the message it claimed but never reported goes back to
   * its queue when its visibility timeout ends (a counted receive: one that hangs every time dead-letters).
   */
  livenessTimeoutMs?: number;
  compute?: ComputePool;
  /**
   * How long a thread may take from its start to `ready`, ms; default START_TIMEOUT_MS (60 s), the deadline of
   * a dedicated function process (a thread holds no job while it starts, so no job limit runs meanwhile). One
   * not ready by then is ended and counts as a failed start (replaced after the growing wait of a thread that
   * crashed while it started).
   */
  startTimeoutMs?: number;
  onStart?(message: HeldMessage): void;
  onFinish?(message: HeldMessage): void;
  onJob?(job: JobNotice): void;
  onError?(error: unknown): void;
}

export interface FunctionThreads {
  /** Tells every thread which groups are at their running limit (queues that cannot count it in the claim). */
  setBlocked(groups: ReadonlySet<string>): void;
  /** The queues every thread consumes besides its model queues (dedicated lanes on the pool). */
  setExtraQueues(names: readonly string[]): void;
  /** Messages the threads hold now. */
  held(): HeldMessage[];
  /**
   * Receives no more and lets running jobs finish until `deadline` (epoch ms; default: no limit); then ends
   * the threads, and the messages of jobs cut short go back to their queues.
   */
  close(deadline?: number): Promise<void>;
}

/**
 * The shared functions: a fixed pool of worker threads that each own their loop (claim, run, heartbeat,
 * delete on their own connection; see function-worker.ts), so model runs never block the API's event loop
 * and a finished job's thread takes the next without a hop through it. The host keeps what only it can do:
 * a thread that crashed is replaced and what it held is retried; a job past its time limit has its thread
 * ended (a model run is CPU work that cannot be interrupted any other way), its job settled, and a new
 * thread started; a thread not ready within `startTimeoutMs` of its start is ended and replaced as one that
 * failed to start.
 */
export function createFunctionThreads(options: FunctionThreadsOptions): FunctionThreads {
  const threads = new Set<Thread>();
  let extraQueues: string[] = [];
  let blocked: string[] = [];
  let closed = false;
  /** Threads that ended before they were ready since one last was: each replacement waits longer. */
  let failedStarts = 0;
  const replacing = new Set<NodeJS.Timeout>();
  const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
  const maxTimeLimitMs = options.maxTimeLimitMs ?? MAX_JOB_TIMEOUT_SEC * 1000;
  const livenessTimeoutMs = options.livenessTimeoutMs ?? LIVENESS_TIMEOUT_MS;

  function spawn(): Thread {
    const workerData = { ...options.settings, extraQueues } satisfies FunctionThreadSettings;
    const worker = startPrebuiltWorker(
      options.settings.factory.prebuilt,
      { relative: './function-worker', base: import.meta.url },
      { workerData },
    );
    let markStopped: () => void = () => undefined;
    let markExited: () => void = () => undefined;
    const thread: Thread = {
      worker,
      held: new Map(),
      computing: new AbortController(),
      runs: new Map(),
      stopped: new Promise((resolve) => {
        markStopped = resolve;
      }),
      exited: new Promise((resolve) => {
        markExited = resolve;
      }),
    };
    // A thread stuck while it loads (a store that never opens, release code that hangs at import) neither
    // posted `ready` nor exited: it held its slot for good and was never replaced; with every thread stuck
    // the shared lanes stopped with no error. Timed from the start: `terminate` ends a thread in a
    // synchronous loop as well as one waiting on a promise that never settles.
    thread.startTimer = setTimeout(() => {
      if (thread.ready) return;
      thread.missedStart = true;
      thread.computing.abort();
      worker.terminate().catch(() => undefined);
    }, startTimeoutMs);
    thread.startTimer.unref();
    const send = (request: FunctionRequest) => worker.postMessage(request);
    if (blocked.length > 0) send({ type: 'blocked', groups: blocked });
    const handle = (report: FunctionReport) => {
      if (report.type === 'started') started(thread, report.message);
      else if (report.type === 'finished') finished(thread, report.receiptHandle);
      else if (report.type === 'settling') settling(thread, report.receiptHandle, report.ack);
      else if (report.type === 'job') options.onJob?.(report.job);
      else if (report.type === 'stopped') markStopped();
      else if (report.type === 'alive') thread.pingedAt = undefined;
      else if (report.type === 'ready') {
        thread.ready = true;
        clearTimeout(thread.startTimer);
        failedStarts = 0;
      } else if (report.type === 'error') options.onError?.(new Error(report.message));
      else if (report.type === 'compute') {
        if (!options.compute) send({ type: 'computed', id: report.id, error: 'no compute pool' });
        else {
          // Ended with the thread, or alone when the thread's job no longer wants it (`cancel-compute`).
          const own = new AbortController();
          thread.runs.set(report.id, own);
          options.compute
            .runParts(
              report.model,
              report.input,
              report.parts,
              AbortSignal.any([thread.computing.signal, own.signal]),
            )
            .then(
              (results) => send({ type: 'computed', id: report.id, results }),
              (error: unknown) => send({ type: 'computed', id: report.id, error: String(error) }),
            )
            .finally(() => thread.runs.delete(report.id));
        }
      } else if (report.type === 'cancel-compute') thread.runs.get(report.id)?.abort();
    };
    // In the order the thread made them (a job's claim before its end), several per message.
    worker.on('message', (reports: FunctionReport[]) => {
      // It posted these, so its event loop ran then: a ping asked before is answered (asked again later).
      thread.pingedAt = undefined;
      for (const report of reports) handle(report);
    });
    // A thread that cannot start (its stores do not open, its bundle is gone) is replaced after a wait that
    // grows: replaced at once, it was started and logged about ten times a second for as long as the
    // server ran. The error says so, not only what the thread threw.
    worker.on('error', (error) => {
      if (thread.ready) options.onError?.(error);
      else
        options.onError?.(
          new Error(
            `A function thread failed to start (the next one in ${startRetryMs(failedStarts + 1) / 1000} s): ${String((error as Error)?.message ?? error)}`,
            { cause: error },
          ),
        );
    });
    worker.on('exit', () => {
      clearTimeout(thread.startTimer);
      markStopped();
      threads.delete(thread);
      thread.computing.abort();
      recover(thread)
        .catch((error: unknown) => options.onError?.(error))
        .finally(markExited);
      if (closed) return;
      if (thread.ready || thread.timedOut) {
        threads.add(spawn());
        return;
      }
      failedStarts++;
      // Said when the thread is gone, with the wait its replacement has (a thread that threw says so on `error`).
      if (thread.missedStart)
        options.onError?.(
          new Error(
            `A function thread was not ready within ${startTimeoutMs / 1000} s of its start; ended (the next one in ${startRetryMs(failedStarts) / 1000} s).`,
          ),
        );
      const timer = setTimeout(() => {
        replacing.delete(timer);
        if (!closed) threads.add(spawn());
      }, startRetryMs(failedStarts));
      replacing.add(timer);
    });
    return thread;
  }

  const startRetryMs = (failures: number) => backoffMs(failures - 1, START_RETRY);

  function started(thread: Thread, message: HeldMessage): void {
    const startedAt = Date.now();
    const entry: { message: HeldMessage; since: number; timer?: NodeJS.Timeout } = {
      message,
      since: startedAt,
    };
    thread.held.set(message.receiptHandle, entry);
    options.onStart?.(message);
    const limit = options.timeLimitMs?.(message);
    const arm = (ms: number | undefined) => {
      if (thread.held.get(message.receiptHandle) !== entry) return;
      clearTimeout(entry.timer);
      const limitMs = ms !== undefined && Number.isFinite(ms) ? ms : maxTimeLimitMs;
      entry.timer = setTimeout(() => timeOut(thread, message), Math.max(0, startedAt + limitMs - Date.now()));
    };
    // The pool maximum holds while the limit is looked up: a lookup that never settled (a directory that never
    // answers) left the message with no limit at all, its visibility extended for good.
    arm(typeof limit === 'number' ? limit : undefined);
    if (limit instanceof Promise)
      limit.then(arm, (error: unknown) => {
        options.onError?.(error);
        arm(undefined);
      });
  }

  function finished(thread: Thread, receiptHandle: string): void {
    const entry = thread.held.get(receiptHandle);
    if (!entry) return;
    clearTimeout(entry.timer);
    thread.held.delete(receiptHandle);
    options.onFinish?.(entry.message);
  }

  /**
   * The thread settles a message next: it is extended no more, and its extension in flight is abandoned; the
   * thread, when it asked (`ack`), waits for the answer so that no extension lands after its settle.
   */
  function settling(thread: Thread, receiptHandle: string, ack: number | undefined): void {
    const entry = thread.held.get(receiptHandle);
    if (entry) entry.settling = true;
    void heartbeat.release(receiptHandle).then(() => {
      if (ack !== undefined)
        thread.worker.postMessage({ type: 'released', id: ack } satisfies FunctionRequest);
    });
  }

  /** Ends the thread of a message past its limit; its job is settled once the thread is gone (on exit). */
  function timeOut(thread: Thread, message: HeldMessage): void {
    if (!thread.held.has(message.receiptHandle) || thread.timedOut) return;
    thread.timedOut = message;
    thread.computing.abort();
    thread.worker.terminate().catch(() => undefined);
  }

  /** What an ended thread still held: settled or given back, within `recoveryTimeoutMs` (thread-recovery.ts). */
  async function recover(thread: Thread): Promise<void> {
    const held = [...thread.held.values()];
    thread.held.clear();
    for (const { timer } of held) clearTimeout(timer);
    await Promise.all(held.map((h) => heartbeat.release(h.message.receiptHandle)));
    return recoverHeld(
      options,
      held.map((h) => h.message),
      thread.timedOut,
    );
  }

  for (let i = 0; i < options.size; i++) threads.add(spawn());

  // The visibility of what the threads hold is extended here, not in the threads: a model run is
  // synchronous CPU work, and a thread busy with a long one could not run its own timer in time (its
  // message would reappear and run twice). One timer for every held message, as Lambda's poller does.
  const heartbeat = startVisibilityHeartbeat({
    messages: options.messages,
    visibilityTimeoutSec: options.settings.visibilityTimeoutSec,
    *held() {
      for (const thread of threads)
        for (const { message, since, settling } of thread.held.values())
          if (!settling) yield { queue: message.queue, receiptHandle: message.receiptHandle, since };
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });

  // A thread hung outside any job (no time limit runs) is found by asking it for a sign of life.
  const stopLiveness = watchThreadLiveness({
    threads: () => threads,
    timeoutMs: livenessTimeoutMs,
    onHung(thread) {
      thread.computing.abort();
      thread.worker.terminate().catch(() => undefined);
      options.onError?.(
        new Error(
          `A function thread did not answer for ${livenessTimeoutMs / 1000} s while it ran no job; ended and replaced (a message it claimed goes back to its queue after the visibility timeout).`,
        ),
      );
    },
  });

  const broadcast = (request: FunctionRequest) => {
    for (const thread of threads) thread.worker.postMessage(request);
  };

  return {
    setBlocked(groups) {
      blocked = [...groups];
      broadcast({ type: 'blocked', groups: blocked });
    },
    setExtraQueues(names) {
      extraQueues = [...names];
      broadcast({ type: 'queues', names: extraQueues });
    },
    held: () => [...threads].flatMap((t) => [...t.held.values()].map((h) => h.message)),
    async close(deadline) {
      closed = true;
      for (const timer of replacing) clearTimeout(timer);
      replacing.clear();
      // Still extended while jobs drain; stopped before the threads end (what they held then goes back).
      const all = [...threads];
      broadcast({ type: 'stop' });
      // A thread not ready yet holds nothing, and answers `stop` only once it is: one stuck while it loads held
      // the close until the deadline (or its start deadline), with no job left to wait for.
      for (const t of all) if (!t.ready) t.worker.terminate().catch(() => undefined);
      const drained = Promise.all(all.map((t) => t.stopped));
      if (deadline === undefined) await drained;
      else {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          drained,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
          }),
        ]);
        clearTimeout(timer);
      }
      heartbeat.stop();
      stopLiveness();
      // Ending a thread that still runs a job sends that job's message back (see `recover`).
      await Promise.all(all.map((t) => t.worker.terminate().catch(() => undefined)));
      await Promise.all(all.map((t) => t.exited));
    },
  };
}
