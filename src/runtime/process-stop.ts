import type { ChildProcess } from 'node:child_process';

/** Whether `proc` has exited (by itself or by a signal). */
export const hasEnded = (proc: ChildProcess): boolean => proc.exitCode !== null || proc.signalCode !== null;

/** Children asked whether they lead a process group, and those that do (see `leadsGroup`). */
const asked = new WeakSet<ChildProcess>();
const leaders = new WeakSet<ChildProcess>();
/** Leaders whose group is killed when they exit (`killGroupOnExit`). */
const watched = new WeakSet<ChildProcess>();

/**
 * Whether `proc` leads a process group of its own: it was forked `detached` (setsid), so everything it
 * starts (a release's model code may `spawn`) is in that group unless it leaves it. Asked of the system
 * (`kill(-pid, 0)`) the first time while `proc` runs, and remembered: while a process runs, a group with its
 * pid exists only if it made it (POSIX reuses no pid while a process or group holds it). False once it has
 * exited without having been asked, for a child without a pid (a failed spawn), and on Windows (no process
 * groups).
 */
export function leadsGroup(proc: ChildProcess): boolean {
  // -1 and -0 are no group: kill(-1) signals every process the user may signal, kill(0) the caller's group.
  if (!Number.isInteger(proc.pid) || (proc.pid as number) <= 1 || process.platform === 'win32') return false;
  if (!asked.has(proc) && !hasEnded(proc)) {
    asked.add(proc);
    try {
      process.kill(-(proc.pid as number), 0);
      leaders.add(proc);
    } catch {
      // ESRCH: no such group; the child is in its parent's group.
    }
  }
  return leaders.has(proc);
}

/**
 * Sends `signal` to `proc`'s process group when it leads one (every process in it, the ones its code spawned
 * included), else to `proc` alone. A group that is gone (ESRCH) falls back to the pid. Nothing once `proc` has
 * exited: its pid may name another process's group by then (what was left of its own is killed at its exit,
 * `killGroupOnExit`). Never throws.
 */
export function signalProcess(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (hasEnded(proc)) return;
  if (leadsGroup(proc)) {
    try {
      process.kill(-(proc.pid as number), signal);
      return;
    } catch {
      // ESRCH: the group has no member left; EPERM: none that may be signalled. The pid is tried as well.
    }
  }
  proc.kill(signal);
}

/**
 * When `proc` leads a process group of its own, kills what is left of the group (SIGKILL) as soon as `proc`
 * exits, whyever it exits: a group member (a process its code spawned) must not outlive the process its host
 * tracks, which would then believe the function gone while the member still runs and holds its files. At
 * that moment the group id cannot have been reused (a group keeps its id while it has members; with none
 * the kill finds nothing, ESRCH). Does nothing for a child in its parent's group or one that has exited;
 * calling it again is harmless.
 */
export function killGroupOnExit(proc: ChildProcess): void {
  if (watched.has(proc) || !leadsGroup(proc) || hasEnded(proc)) return;
  watched.add(proc);
  const group = -(proc.pid as number);
  proc.once('exit', () => {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // ESRCH: no member left.
    }
  });
}

/**
 * Sends `signal` to `proc`; a SIGTERM (or other catchable signal) it has not obeyed within `graceMs` becomes a
 * SIGKILL, and `onLate(message)` is told why. The escalation timer is unref'd and cleared on `exit`.
 * The pattern of `docker stop` and systemd's `TimeoutStopSec` (SIGTERM, then SIGKILL after a grace period).
 *
 * A child that leads a process group of its own (forked `detached`, as function and compute processes are) is
 * stopped as a group: the signal and the SIGKILL go to every process in it, and when the leader exits, what
 * is left of the group is killed at once (`killGroupOnExit`): its members got the signal when the leader did,
 * and the leader's exit ends their grace (the host then counts the process as gone, and the server's exit
 * would never run an unref'd timer). A member that left the group (`setsid`, a `detached` spawn of its own)
 * is out of reach (docs/security.md). A child in its parent's group is signalled alone, as before.
 * @param graceMs milliseconds, > 0
 */
export function stopProcess(
  proc: ChildProcess,
  signal: NodeJS.Signals,
  graceMs: number,
  onLate?: (message: string) => void,
): void {
  // Before the signal: whether it leads a group is asked while it still runs.
  killGroupOnExit(proc);
  signalProcess(proc, signal);
  if (signal === 'SIGKILL' || hasEnded(proc)) return;
  const escalate = setTimeout(() => {
    if (hasEnded(proc)) return;
    onLate?.(`pid ${proc.pid} did not end within ${graceMs / 1000}s of ${signal}; killed`);
    signalProcess(proc, 'SIGKILL');
  }, graceMs);
  escalate.unref();
  proc.once('exit', () => clearTimeout(escalate));
}
