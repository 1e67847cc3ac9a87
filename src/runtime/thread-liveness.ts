import type { FunctionRequest } from './function-runtime.ts';

/**
 * How long a ready thread that holds no job the host knows of may go without answering a `ping`, ms. Above
 * SQLite's busy timeout (10 s, a synchronous wait of the thread's claim) with room to spare.
 */
export const LIVENESS_TIMEOUT_MS = 30_000;

/** What the liveness check reads and marks on a function thread of the pool (worker-pool.ts). */
export interface WatchedThread {
  worker: { postMessage(request: FunctionRequest): void };
  /** Messages it reported started and has not finished. */
  held: { readonly size: number };
  ready?: boolean;
  /** Set when the host ended it for a message past its time limit. */
  timedOut?: unknown;
  /** When it was sent a `ping` not answered yet (epoch ms); cleared by the pool on any report. */
  pingedAt?: number;
  /** Set here when it left a ping unanswered while it held no job. */
  unresponsive?: boolean;
}

/**
 * A thread is known to be alive by what it posts. One hung in a job is ended by the job's time limit; one hung
 * outside any job the host knows of (in code between its claim and its `started`, which waits for the end of
 * its turn; between jobs) posts nothing and holds nothing the host times: it kept its slot for good. So every
 * ready thread is sent `ping` (each `timeoutMs / 4`), and one holding nothing that leaves it unanswered for
 * `timeoutMs` is marked `unresponsive` and handed to `onHung` (a thread busy in a job posted `started` first).
 * @returns stops the check
 */
export function watchThreadLiveness<T extends WatchedThread>(options: {
  threads(): Iterable<T>;
  timeoutMs: number;
  onHung(thread: T): void;
}): () => void {
  const timer = setInterval(
    () => {
      const now = Date.now();
      for (const thread of options.threads()) {
        if (!thread.ready || thread.timedOut || thread.unresponsive) continue;
        if (thread.pingedAt === undefined) {
          thread.pingedAt = now;
          thread.worker.postMessage({ type: 'ping' });
        } else if (thread.held.size === 0 && now - thread.pingedAt >= options.timeoutMs) {
          thread.unresponsive = true;
          options.onHung(thread);
        }
      }
    },
    Math.max(20, options.timeoutMs / 4),
  );
  timer.unref();
  return () => clearInterval(timer);
}
