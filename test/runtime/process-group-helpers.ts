import { readFileSync } from 'node:fs';

/**
 * Whether process `pid` has ended: `kill(pid, 0)` fails with ESRCH, or (Linux) it is a zombie. A killed
 * grandchild of the host is an orphan, reaped by init whenever init gets to it (about once a second in some
 * containers); until then it holds no memory or files, only its pid.
 */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    // "pid (comm) S ...": the state follows the command's closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** The pid a test's stand-in wrote into a file; throws on anything else (never signals a group by mistake). */
export function spawnedPid(text: string): number {
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`not a pid: ${JSON.stringify(text)}`);
  return pid;
}
