import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import {
  createSqliteMessageQueue,
  type SqliteMessageQueue,
} from '../../src/adapters/embedded/message-queue.ts';
import { ValidationError } from '../../src/core/errors.ts';

/** Behaviour of the embedded queue that the contract cannot test on SQS in reasonable time or at all. */
describe('embedded SQLite queue', () => {
  let dir: string;
  let db: SqliteDatabase;
  let queue: SqliteMessageQueue;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'silopool-queue-'));
    db = openDatabase(join(dir, 'silopool.db'));
    queue = createSqliteMessageQueue(db);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops messages older than the retention period', async () => {
    await queue.createQueue('q', { visibilityTimeoutSec: 30, retentionSec: 1 });
    await queue.send('q', { body: 'old' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await queue.send('q', { body: 'new' });
    const got = await queue.receive('q', { maxMessages: 10 });
    expect(got.map((m) => m.body)).toEqual(['new']);
  });

  it('creates the dead-letter queue when a queue names one that does not exist yet', async () => {
    await queue.createQueue('q', { visibilityTimeoutSec: 30, maxReceiveCount: 1, deadLetterQueue: 'q-dlq' });
    expect(await queue.listQueues('q')).toEqual(['q', 'q-dlq']);
  });

  it('forgets idle groups, so a thousand one-off tenants leave no rows behind', async () => {
    await queue.createQueue('q', { visibilityTimeoutSec: 30 });
    await queue.sendBatch(
      'q',
      Array.from({ length: 1000 }, (_, i) => ({ body: `${i}`, groupId: `t-${i}` })),
    );
    for (let got = await queue.receive('q', { maxMessages: 10 }); got.length > 0; ) {
      await Promise.all(got.map((m) => queue.delete('q', m.receiptHandle)));
      got = await queue.receive('q', { maxMessages: 10 });
    }
    const { n } = db.prepare('SELECT count(*) AS n FROM queue_groups').get() as { n: number };
    expect(n).toBeLessThanOrEqual(1);
  });

  it('brings an in-flight group back into the schedule when its visibility runs out', async () => {
    await queue.createQueue('q', { visibilityTimeoutSec: 1 });
    await queue.send('q', { body: 'a', groupId: 't-a' });
    const [first] = await queue.receive('q', { maxMessages: 1 });
    // Drains every other group, so t-a's row is dropped while its message is in flight.
    await queue.send('q', { body: 'b', groupId: 't-b' });
    const [other] = await queue.receive('q', { maxMessages: 1 });
    await queue.delete('q', other!.receiptHandle);
    expect(await queue.receive('q', { maxMessages: 1 })).toEqual([]);
    const [again] = await queue.receive('q', { maxMessages: 1, waitTimeSec: 3 });
    expect(again).toMatchObject({ messageId: first!.messageId, receiveCount: 2, groupId: 't-a' });
  });

  it('does not re-hide a message with a handle from before it became visible again', async () => {
    await queue.createQueue('q', { visibilityTimeoutSec: 1 });
    await queue.send('q', { body: 'x' });
    const [first] = await queue.receive('q', { maxMessages: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await queue.changeVisibility('q', first!.receiptHandle, 60);
    expect(await queue.receive('q', { maxMessages: 1 })).toHaveLength(1);
  });

  it('rejects bad input with ValidationError, not a crash', async () => {
    await queue.createQueue('q', { visibilityTimeoutSec: 30 });
    await expect(queue.createQueue('bad name', { visibilityTimeoutSec: 30 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(queue.receive('q', { maxMessages: 11 })).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.send('q', { body: 'x', delaySec: 901 })).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.delete('q', 'not-a-handle')).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.send('missing', { body: 'x' })).rejects.toThrow(/Queue missing/);
  });
});
