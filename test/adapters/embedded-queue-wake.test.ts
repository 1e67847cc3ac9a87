import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel, type Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import {
  createSqliteMessageQueue,
  type SqliteMessageQueue,
} from '../../src/adapters/embedded/message-queue.ts';
import { startModuleWorker } from '../../src/runtime/module-url.ts';

type Reply = { ready?: true; polling?: true; bodies?: string[]; ms?: number };

/**
 * Sends on one thread wake long polls on another (the API's thread and a function thread), and post
 * nothing across threads while no other thread polls (src/adapters/embedded/queue-wake.ts).
 */
describe('embedded queue: waking long polls across threads', () => {
  let dir: string;
  let dbPath: string;
  let db: SqliteDatabase;
  let queue: SqliteMessageQueue;
  let poller: Worker;
  let listener: BroadcastChannel;
  let posted: string[];
  const replies: Reply[] = [];

  const next = async (key: keyof Reply): Promise<Reply> => {
    await expect.poll(() => replies.some((r) => r[key] !== undefined), { timeout: 30_000 }).toBe(true);
    return replies.splice(
      replies.findIndex((r) => r[key] !== undefined),
      1,
    )[0]!;
  };
  /** Lets the channel deliver what was posted (its messages arrive in a later turn). */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silopool-queue-wake-'));
    dbPath = join(dir, 'silopool.sqlite');
    db = openDatabase(dbPath);
    queue = createSqliteMessageQueue(db);
    await queue.createQueue('finance', { visibilityTimeoutSec: 30 });
    // What the other threads receive: the queue's channel, heard by one more member.
    posted = [];
    listener = new BroadcastChannel(`silopool-queue:${db.name}`);
    listener.onmessage = (event) => posted.push((event as { data: string }).data);
    replies.length = 0;
    poller = startModuleWorker(new URL('./queue-poller.ts', import.meta.url).href, {
      workerData: { dbPath, queueName: 'finance' },
    });
    poller.on('message', (reply: Reply) => replies.push(reply));
    await next('ready');
  });
  afterEach(async () => {
    listener.close();
    await poller.terminate();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wakes a long poll on another thread at once, though its own poll interval is ten minutes', async () => {
    poller.postMessage('poll');
    await next('polling');
    await queue.send('finance', { body: 'job-1' });
    const done = await next('bodies');
    expect(done.bodies).toEqual(['job-1']);
    expect(done.ms).toBeLessThan(15_000);
    expect(posted).toContain('finance');
  });

  it('a queue named like an EventEmitter event ("error") is sent to, polled and woken like any other', async () => {
    // On the old queue a send to "error" committed its message and then threw (an 'error' event with no
    // listener), so the caller took a sent message for a failed send; a thread polling it, woken over the
    // channel, threw in its message handler.
    await queue.createQueue('error', { visibilityTimeoutSec: 30 });
    await expect(queue.send('error', { body: 'e-1' })).resolves.toHaveProperty('messageId');
    const same = queue.receive('error', { maxMessages: 1, waitTimeSec: 5 });
    expect((await same).map((m) => m.body)).toEqual(['e-1']);
    const waiting = queue.receive('error', { maxMessages: 1, waitTimeSec: 5 });
    await new Promise((resolve) => setImmediate(resolve));
    await queue.send('error', { body: 'e-2' });
    expect((await waiting).map((m) => m.body)).toEqual(['e-2']);
  });

  it('posts no wake to other threads while none of them polls the queue', async () => {
    for (let i = 0; i < 20; i++) await queue.send('finance', { body: `job-${i}` });
    await queue.sendBatch('finance', [{ body: 'a' }, { body: 'b' }]);
    await settle();
    expect(posted).toEqual([]);

    // A poll that ended (here with a message) no longer counts either.
    poller.postMessage('poll');
    expect((await next('bodies')).bodies).toHaveLength(1);
    await queue.send('finance', { body: 'after' });
    await settle();
    expect(posted).toEqual([]);
  });

  it('a poll of another queue does not make sends to this one post wakes', async () => {
    await queue.createQueue('funds', { visibilityTimeoutSec: 30 });
    const other = startModuleWorker(new URL('./queue-poller.ts', import.meta.url).href, {
      workerData: { dbPath, queueName: 'funds' },
    });
    const otherReplies: Reply[] = [];
    other.on('message', (reply: Reply) => otherReplies.push(reply));
    try {
      await expect.poll(() => otherReplies.some((r) => r.ready), { timeout: 30_000 }).toBe(true);
      other.postMessage('poll');
      await expect.poll(() => otherReplies.some((r) => r.polling), { timeout: 30_000 }).toBe(true);
      for (let i = 0; i < 5; i++) await queue.send('finance', { body: `job-${i}` });
      await settle();
      // The slots of ('silopool.sqlite', 'finance') and (…, 'funds') differ: checked here, not assumed.
      expect(posted.filter((q) => q === 'finance')).toEqual([]);
      await queue.send('funds', { body: 'fund-1' });
      await expect.poll(() => otherReplies.some((r) => r.bodies), { timeout: 15_000 }).toBe(true);
      expect(otherReplies.find((r) => r.bodies)?.bodies).toEqual(['fund-1']);
    } finally {
      await other.terminate();
    }
  });
});
