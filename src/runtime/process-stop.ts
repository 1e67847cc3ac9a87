import type { ChildProcess } from 'node:child_process';

/** Whether `proc` has exited (by itself or by a signal). */
export const hasEnded = (proc: ChildProcess): boolean => proc.exitCode !== null || proc.signalCode !== null;

/**
 * Sends `signal` to `proc`; a SIGTERM (or other catchable signal) it has not obeyed within `graceMs` becomes a
 * SIGKILL, and `onLate(message)` is told why. The escalation timer is unref'd and cleared on `exit`.
 * The pattern of `docker stop` and systemd's `TimeoutStopSec` (SIGTERM, then SIGKILL after a grace period).
 * @param graceMs milliseconds, > 0
 */
export function stopProcess(
  proc: ChildProcess,
  signal: NodeJS.Signals,
  graceMs: number,
  onLate?: (message: string) => void,
): void {
  proc.kill(signal);
  if (signal === 'SIGKILL' || hasEnded(proc)) return;
  const escalate = setTimeout(() => {
    if (hasEnded(proc)) return;
    onLate?.(`pid ${proc.pid} did not end within ${graceMs / 1000}s of ${signal}; killed`);
    proc.kill('SIGKILL');
  }, graceMs);
  escalate.unref();
  proc.once('exit', () => clearTimeout(escalate));
}
