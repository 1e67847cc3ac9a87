import { type BackoffPolicy, backoffMs } from '../core/backoff.ts';

/**
 * Starts something again after it failed, waiting `policy`'s backoff for the failures in a row (1 s, 2 s,
 * 4 s… for the policies here), one wait at a time: a process that keeps failing (a provisioned function
 * process, a spare) is started again a few times a minute, not several times a second.
 */
export interface RestartBackoff {
  /**
   * Counts a failure and, unless a wait is under way or `stop` was called, calls `restart` when the wait for
   * this many failures in a row has passed (an unref'd timer). Returns that wait, ms.
   */
  failed(): number;
  /** A start that lasted: the next failure waits the shortest time again. */
  succeeded(): void;
  /** Whether a wait is under way (`restart` is due at its end). */
  waiting(): boolean;
  /** Cancels the wait under way; no later failure starts another. */
  stop(): void;
}

/** See RestartBackoff; `restart` is called with no wait under way (`waiting()` is false in it). */
export function createRestartBackoff(policy: BackoffPolicy, restart: () => void): RestartBackoff {
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  return {
    failed() {
      failures++;
      const ms = backoffMs(failures - 1, policy);
      if (stopped || timer) return ms;
      timer = setTimeout(() => {
        timer = undefined;
        restart();
      }, ms);
      timer.unref();
      return ms;
    },
    succeeded() {
      failures = 0;
    },
    waiting: () => timer !== undefined,
    stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
