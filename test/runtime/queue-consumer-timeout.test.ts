import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import type { FunctionRuntime } from '../../src/runtime/function-runtime.ts';
import { startQueueConsumer } from '../../src/runtime/queue-consumer.ts';
import { createSlotReservations, FunctionTimeoutError } from '../../src/runtime/slot-reservations.ts';
import { until } from '../support/slot-runtime.ts';

// An event past its time limit whose jobs never started (`settleTimedOut` answers false). Its later records
// may have waited their turn behind the first (records run in order) and go back uncounted; the first record's
// own run hung before it started, and given back uncounted it hung again for ever: it is counted.
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A runtime of one slot whose first event runs past its time limit; later ones run (`counts`: receive counts). */
function timingOutOnce(counts: Map<string, number>): FunctionRuntime {
  let events = 0;
  const reservations = createSlotReservations({
    name: 'hangs',
    unused: () => 1,
    run: async (event) => {
      if (events++ === 0) throw new FunctionTimeoutError('hangs', 1000);
      for (const r of event.Records) counts.set(r.body, Number(r.attributes.ApproximateReceiveCount));
      return { batchItemFailures: [] };
    },
  });
  return {
    name: 'hangs',
    acquire: (o) => reservations.acquire(o),
    whileWaiting: (g) => reservations.whileWaiting(g),
    invoke: (event) => reservations.acquire({ max: 1 }).then((lease) => lease.invoke(event)),
    close: async () => reservations.close(),
  };
}

describe('a queue consumer settling an event that timed out before its jobs started', () => {
  it('counts the first record (its own run hung) and gives the ones behind it back uncounted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-consumer-timeout-'));
    dirs.push(dir);
    const queue = createSqliteMessageQueue(openDatabase(join(dir, 'q.sqlite')), { pollIntervalMs: 20 });
    await queue.createQueue('q', { visibilityTimeoutSec: 30 });
    await queue.sendBatch('q', [{ body: 'first' }, { body: 'second' }]);
    const counts = new Map<string, number>();
    const consumer = startQueueConsumer({
      queue: 'q',
      runtime: timingOutOnce(counts),
      messages: queue,
      visibilityTimeoutSec: 30,
      batchSize: 2,
      settleTimedOut: async () => false,
    });
    await until('both run again', () => counts.size === 2, 10_000);
    await consumer.stop();
    // Before: both uncounted (1 at their next receive), the first looping for ever.
    expect(Object.fromEntries(counts)).toEqual({ first: 2, second: 1 });
  }, 20_000);
});
