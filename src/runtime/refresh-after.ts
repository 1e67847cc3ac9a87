import { withinDeadline } from '../functions/delivery-deadline.ts';

/**
 * How long one refresh (re-reading every tenant, writing limits, syncing lanes) may take, ms. It is a directory
 * scan and a few writes, milliseconds on SQLite; on DynamoDB each call is bounded by the SDK's own timeouts
 * (adapters/aws/client-config.ts) and a few of them fit. A read that never answered held every later refresh
 * (they never overlap) and every caller waiting on one (a tenant change in the API) for good.
 */
export const REFRESH_TIMEOUT_MS = 20_000;

/**
 * A periodic pass (a refresh, a reconciler or settler pass, a metering pass) abandoned at its deadline: its
 * signal is aborted, what it had not written yet is dropped, and the next one starts.
 */
export class PassDeadlineError extends Error {
  readonly code = 'pass_deadline';
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms; abandoned, and the next one starts afresh`);
    this.name = 'PassDeadlineError';
  }
}

/**
 * `work` given until `timeoutMs` from now: it settles as `work` does, or rejects with a PassDeadlineError
 * naming `what` then, with `work`'s signal aborted. A later failure of the abandoned `work` (other than that
 * abort) goes to `onLate`.
 */
export function withinPassDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  what: string,
  onLate?: (error: unknown) => void,
): Promise<T> {
  return withinDeadline(
    work,
    Date.now() + timeoutMs,
    what,
    // Its own abort (the deadline's error, already the callers') is not a second failure.
    (error) => {
      if (!(error instanceof PassDeadlineError)) onLate?.(error);
    },
    (name, ms) => new PassDeadlineError(name, ms),
  );
}

export interface RefreshOptions {
  /** Names the refresh in its deadline error. */
  what: string;
  /** Default REFRESH_TIMEOUT_MS. */
  timeoutMs?: number;
  /** A failure of a run abandoned at its deadline, which nobody awaits any more. */
  onLate?(error: unknown): void;
}

/**
 * A refresh that, asked for, always reads what is there now: calls while a run is under way share one run
 * that starts after it, never the run under way, which may have read the state before the caller's change.
 * Runs never overlap, so an older read cannot land after a newer one: a run past `timeoutMs` is abandoned
 * (rejects with a PassDeadlineError) and its signal aborted, and `run` must check that signal after each
 * await before it writes anything, so an abandoned run never writes after a newer one started.
 */
export function refreshAfterChange(
  run: (signal: AbortSignal) => Promise<void>,
  options: RefreshOptions,
): {
  refresh(): Promise<void>;
  /** Settles once no run is under way or asked for (errors are the callers'). */
  idle(): Promise<void>;
} {
  const timeoutMs = options.timeoutMs ?? REFRESH_TIMEOUT_MS;
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    if (next) return next;
    if (running) {
      next = running
        .catch(() => undefined)
        .then(() => {
          next = undefined;
          return refresh();
        });
      return next;
    }
    running = withinPassDeadline(run, timeoutMs, options.what, options.onLate).finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    refresh,
    async idle() {
      while (running || next) await (next ?? running)?.catch(() => undefined);
    },
  };
}
