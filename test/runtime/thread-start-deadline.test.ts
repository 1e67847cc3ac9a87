import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import { createFunctionThreads, type FunctionThreads } from '../../src/runtime/worker-pool.ts';
import { setThreadStandIn, standInThreadSettings, standInThreads, tempDir, threadEnded } from './stand-in.ts';

// Shared function threads that hang while they load, as stand-in threads started in place of the prebuilt
// `function-thread-embedded` (stand-in.ts). One that neither posted `ready` nor exited held its slot for good
// and was never replaced: with every thread stuck the shared lanes stopped with no error.
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltStartingStandInThreads(original),
);

/** Stuck while it loads, waiting (a store that never opens): never says ready, never exits. */
const HANGS_WAITING = `setInterval(() => undefined, 1000);`;
/** Stuck while it loads in synchronous code (release code looping at import). */
const HANGS_BUSY = `for (;;) {}`;
/** Loads at once: says ready, and stopped when told to stop. */
const READY = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (r) => { if (r.type === 'stop') parentPort.postMessage([{ type: 'stopped' }]); });
parentPort.postMessage([{ type: 'ready' }]);`;

const dir = tempDir('silopool-thread-start-');
const pools: FunctionThreads[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close(Date.now());
});

function poolOf(size: number, startTimeoutMs?: number): { pool: FunctionThreads; errors: string[] } {
  const errors: string[] = [];
  const pool = createFunctionThreads({
    size,
    ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
    messages: createSqliteMessageQueue(openDatabase(join(dir, `${pools.length}-${Date.now()}.sqlite`))),
    onError: (error) => errors.push(String((error as Error)?.message ?? error)),
    settings: standInThreadSettings(),
  });
  pools.push(pool);
  return { pool, errors };
}

/** The `next one in N s` of each start-deadline error, in seconds. */
const waitsOf = (errors: string[]) =>
  errors.flatMap((e) => {
    const found = /was not ready within [\d.]+ s of its start; ended \(the next one in ([\d.]+) s\)/.exec(e);
    return found ? [Number(found[1])] : [];
  });

describe('a shared function thread not ready within its start deadline', () => {
  it('stuck waiting while it loads: ended at the deadline, said so, and replaced by one that runs', async () => {
    setThreadStandIn(HANGS_WAITING);
    const before = standInThreads.length;
    const { errors } = poolOf(1, 300);
    await vi.waitFor(() => expect(standInThreads.length - before).toBe(1), { timeout: 5000 });
    const stuck = standInThreads[before]!;
    setThreadStandIn(READY);
    // Before, it was never ended: the slot was lost for as long as the server ran.
    await vi.waitFor(() => expect(threadEnded(stuck)).toBe(true), { timeout: 3000 });
    expect(errors).toEqual([
      'A function thread was not ready within 0.3 s of its start; ended (the next one in 0.5 s).',
    ]);
    await vi.waitFor(() => expect(standInThreads.length - before).toBe(2), { timeout: 3000 });
    // The replacement said ready: past the deadline it still runs, and no other start came.
    const replacement = standInThreads[before + 1]!;
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(threadEnded(replacement)).toBe(false);
    expect(standInThreads.length - before).toBe(2);
    expect(errors).toHaveLength(1);
  }, 20_000);

  it('stuck in a synchronous loop while it loads: ended at the deadline as well', async () => {
    setThreadStandIn(HANGS_BUSY);
    const before = standInThreads.length;
    const { errors } = poolOf(1, 300);
    await vi.waitFor(() => expect(standInThreads.length - before).toBe(1), { timeout: 5000 });
    setThreadStandIn(READY);
    await vi.waitFor(() => expect(threadEnded(standInThreads[before]!)).toBe(true), { timeout: 3000 });
    expect(waitsOf(errors)).toEqual([0.5]);
  }, 20_000);

  it('every thread stuck: each ended and replaced after a wait that grows, never in a tight loop', async () => {
    setThreadStandIn(HANGS_WAITING);
    const before = standInThreads.length;
    const { errors } = poolOf(2, 200);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // Ended at 0.2 s, replaced 0.5 s and 1 s later, then 2 s, 4 s… after each (the count is the pool's):
    // about five starts in 3 s, where a respawn at each deadline would make thirty.
    const starts = standInThreads.length - before;
    expect(starts).toBeGreaterThanOrEqual(3);
    expect(starts).toBeLessThanOrEqual(6);
    expect(waitsOf(errors).slice(0, 3)).toEqual([0.5, 1, 2]);
    expect(errors).toHaveLength(waitsOf(errors).length);
  }, 20_000);

  it('close() does not wait for a thread stuck while it loads (it holds no job)', async () => {
    setThreadStandIn(HANGS_WAITING);
    const before = standInThreads.length;
    // The default deadline (60 s) is not what ends it here.
    const { pool } = poolOf(1);
    pools.pop();
    await vi.waitFor(() => expect(standInThreads.length - before).toBe(1), { timeout: 5000 });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      pool.close().then(() => 'closed'),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('still closing after 3 s'), 3000);
      }),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('closed');
    expect(threadEnded(standInThreads[before]!)).toBe(true);
    expect(standInThreads.length - before).toBe(1);
  }, 20_000);
});
