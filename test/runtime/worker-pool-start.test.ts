import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import type { MessageQueue } from '../../src/ports/message-queue.ts';
import { createFunctionThreads, type FunctionThreads } from '../../src/runtime/worker-pool.ts';

const dirs: string[] = [];
const pools: FunctionThreads[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close(Date.now());
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A pool of one shared function thread on `queue`, its stores in `dataDir`; its errors' messages go to `errors`. */
function startPool(
  queue: MessageQueue,
  dataDir: string,
  errors: string[],
  options: { livenessTimeoutMs?: number } = {},
): void {
  pools.push(
    createFunctionThreads({
      size: 1,
      messages: queue,
      ...options,
      onError: (error) => errors.push(String((error as Error)?.message ?? error)),
      settings: {
        factory: {
          module: new URL('../../src/entry/embedded-wiring.ts', import.meta.url).href,
          prebuilt: 'function-thread-embedded',
          options: { dataDir },
        },
        cores: 1,
        perThread: 1,
        batchSize: 1,
        visibilityTimeoutSec: 30,
        queues: [],
      },
    }),
  );
}

describe('shared function threads that cannot start', () => {
  it('are replaced after a growing wait, with an error that says the thread did not start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-pool-start-'));
    dirs.push(dir);
    const queue = createSqliteMessageQueue(openDatabase(join(dir, 'q.sqlite')), { pollIntervalMs: 20 });
    // A DATA_DIR below a plain file: the thread's factory cannot open its stores, every start fails.
    writeFileSync(join(dir, 'file'), '');
    const errors: string[] = [];
    startPool(queue, join(dir, 'file', 'data'), errors);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // Replaced at once, a thread that fails at start was started (and logged) about ten times a second,
    // for as long as the server ran.
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThanOrEqual(4);
    expect(errors[0]).toMatch(/function thread failed to start.*next one in/i);
  });
});

describe('a shared function thread that runs no job', () => {
  it("answers the host's liveness check: idle for many liveness timeouts, it is never ended as hung", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-pool-alive-'));
    dirs.push(dir);
    const queue = createSqliteMessageQueue(openDatabase(join(dir, 'q.sqlite')), { pollIntervalMs: 20 });
    const errors: string[] = [];
    startPool(queue, join(dir, 'data'), errors, { livenessTimeoutMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(errors).toEqual([]);
  });
});
