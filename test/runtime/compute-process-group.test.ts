import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createComputePool } from '../../src/runtime/compute-pool.ts';
import { forkPrebuilt } from '../../src/runtime/prebuilt.ts';
import { gone, spawnedPid } from './process-group-helpers.ts';

// Processes forked `detached` (compute processes, dedicated function processes) lead process groups of their
// own, and what their code spawns is in that group. The compute pool killed only its process's pid, and a
// process that ended by itself (a crash) left the processes it had started running. Here a preload (through
// NODE_OPTIONS, as another test of the pool does) makes the real compute process spawn a process that ignores
// SIGTERM; the code a compute process runs is the platform's, so this is the mechanism, not an attack.
const dir = mkdtempSync(join(tmpdir(), 'silopool-compute-group-'));
const pids: number[] = [];
afterAll(() => {
  for (const pid of pids) if (!gone(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

let preloads = 0;
/**
 * A preload that spawns a SIGTERM-deaf process, which writes its pid into `pidFile` once deaf; with `exit`,
 * the forked process then exits by itself (code 3).
 */
function preload(exit: boolean): { nodeOptions: string; pidFile: string } {
  const n = ++preloads;
  const pidFile = join(dir, `grandchild-${n}.pid`);
  const file = join(dir, `spawner-${n}.cjs`);
  writeFileSync(
    file,
    // Only in the compute process: a stale bundle is built in the same moment, and esbuild's process would
    // load the preload too.
    `if (process.argv.some((a) => a.includes('compute-process'))) {
     const { spawn } = require('node:child_process');
     const fs = require('node:fs');
     const code = "process.on('SIGTERM', () => undefined); require('node:fs').writeFileSync(" +
       ${JSON.stringify(JSON.stringify(pidFile))} + ", String(process.pid)); setInterval(() => undefined, 1000);";
     const env = { ...process.env };
     delete env.NODE_OPTIONS;
     spawn(process.execPath, ['-e', code], { stdio: 'ignore', env });
     ${exit ? `setInterval(() => fs.existsSync(${JSON.stringify(pidFile)}) && process.exit(3), 10);` : ''}
     }`,
  );
  return { nodeOptions: `--require ${file}`, pidFile };
}

/** The pid the spawned process wrote, once it has. */
async function grandchild(pidFile: string): Promise<number> {
  await vi.waitFor(() => expect(existsSync(pidFile)).toBe(true), { timeout: 10_000 });
  const pid = spawnedPid(readFileSync(pidFile, 'utf8'));
  pids.push(pid);
  return pid;
}

/** Runs `fork` with NODE_OPTIONS set to `nodeOptions` (a fork takes the environment of its moment). */
function withNodeOptions<T>(nodeOptions: string, fork: () => T): T {
  const before = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = nodeOptions;
  try {
    return fork();
  } finally {
    if (before === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = before;
  }
}

describe('a process forked in a group of its own', () => {
  it('compute pool close(): the kill of a compute process reaches the process it spawned', async () => {
    const { nodeOptions, pidFile } = preload(false);
    const pool = createComputePool({ size: 1, nice: 0 });
    // No such model: the part fails at once, and the process stays in the pool, idle.
    const run = withNodeOptions(nodeOptions, () => pool.runParts('no-such-model', {}, [{}]));
    await expect(run).rejects.toThrow(/no-such-model/);
    const spawned = await grandchild(pidFile);
    expect(gone(spawned)).toBe(false);
    await pool.close();
    await vi.waitFor(() => expect(gone(spawned)).toBe(true), { timeout: 1000 });
  }, 30_000);

  it('that exits by itself (a crash) takes the processes it spawned with it', async () => {
    const { nodeOptions, pidFile } = preload(true);
    const child: ChildProcess = withNodeOptions(nodeOptions, () =>
      forkPrebuilt(
        'compute-process',
        { relative: '../../src/runtime/compute-process', base: import.meta.url },
        [],
        { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced', detached: true },
      ),
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const spawned = await grandchild(pidFile);
    expect(await exited).toBe(3);
    await vi.waitFor(() => expect(gone(spawned)).toBe(true), { timeout: 1000 });
  }, 30_000);
});
