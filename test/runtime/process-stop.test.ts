import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { leadsGroup, stopProcess } from '../../src/runtime/process-stop.ts';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const sleeper = (detached: boolean) => {
  const child = spawn('sleep', ['30'], { detached, stdio: 'ignore' });
  started.push(child);
  return child;
};
const exitOf = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

describe('whether a child leads a process group of its own', () => {
  it('is asked of the system: a detached child does, one in its parent group does not', () => {
    expect(leadsGroup(sleeper(true))).toBe(true);
    expect(leadsGroup(sleeper(false))).toBe(false);
  });

  it('is never pid 1 or 0: their negatives would signal every process of the user, or the caller group', () => {
    const fake = (pid: number) => ({ pid, exitCode: null, signalCode: null }) as unknown as ChildProcess;
    expect(leadsGroup(fake(1))).toBe(false);
    expect(leadsGroup(fake(0))).toBe(false);
  });
});

describe('stopProcess', () => {
  it('stops a child in its parent group by its pid alone, as before', async () => {
    const child = sleeper(false);
    const exited = exitOf(child);
    stopProcess(child, 'SIGTERM', 5000);
    expect(await exited).toBe('SIGTERM');
  });
});
