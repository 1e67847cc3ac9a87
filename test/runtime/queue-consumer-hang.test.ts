import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import type { ReceivedMessage } from '../../src/ports/message-queue.ts';
import { startQueueConsumer } from '../../src/runtime/queue-consumer.ts';
import { slotRuntime } from '../support/slot-runtime.ts';

// A consumer (a dedicated function process's lane, locally) whose queue stops answering after a run: the
// delete of a finished message never settles. stop() awaited it, and with it the server's stop, for good.
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('a queue consumer whose settling of a message never answers', () => {
  it('abandons it at the settle deadline, finishes the message and stops (before: stop() waited for good)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-consumer-hang-'));
    dirs.push(dir);
    const real = createSqliteMessageQueue(openDatabase(join(dir, 'q.sqlite')), { pollIntervalMs: 20 });
    await real.createQueue('silopool_finance', { visibilityTimeoutSec: 30 });
    await real.send('silopool_finance', { body: 'ran' });
    const never = () => new Promise<never>(() => undefined);
    const messages: typeof real = { ...real, delete: never };
    const { runtime, ran } = slotRuntime(1, 1);
    const errors: string[] = [];
    const finished: { body: string; ok: boolean }[] = [];
    const consumer = startQueueConsumer({
      queue: 'silopool_finance',
      runtime,
      messages,
      visibilityTimeoutSec: 30,
      batchSize: 1,
      settleTimeoutMs: 300,
      onFinish: (m: ReceivedMessage, ok) => finished.push({ body: m.body, ok }),
      onError: (error) => errors.push(String((error as Error)?.message ?? error)),
    });
    await vi.waitFor(() => expect(ran).toEqual(['ran']), { timeout: 5000 });
    await vi.waitFor(() => expect(finished).toEqual([{ body: 'ran', ok: true }]), { timeout: 5000 });
    await consumer.stop();
    expect(consumer.inFlight()).toBe(0);
    expect(errors).toEqual([
      expect.stringMatching(/of silopool_finance after its run did not finish within \d+ ms/),
    ]);
  }, 20_000);
});
