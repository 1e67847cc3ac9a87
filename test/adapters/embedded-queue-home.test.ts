import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import { moveQueueTables } from '../../src/adapters/embedded/queue-home.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomName } from '../contract/fixtures.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const QUEUE_TABLES = ['queues', 'messages', 'queue_groups', 'group_limits', 'dedup', 'outbox_drained'];
const countIn = (db: ReturnType<typeof openDatabase>, table: string) =>
  (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

/** A data directory as the queues left it before they moved: everything in `silopool.sqlite`. */
async function earlierLayout() {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-queue-home-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'silopool.sqlite'));
  const queue = createSqliteMessageQueue(db);
  const lane = randomName('lane');
  await queue.createQueue(lane, { visibilityTimeoutSec: 30, maxReceiveCount: 5 });
  await queue.sendBatch(lane, [
    { body: 'a', groupId: 'acme', dedupId: 'a' },
    { body: 'b', groupId: 'bank', dedupId: 'b' },
    { body: 'c', groupId: 'acme', dedupId: 'c' },
  ]);
  await queue.setGroupLimit('acme', 2);
  // One in flight already (received once): its receive count must survive the move.
  const [inFlight] = await queue.receive(lane, { maxMessages: 1, visibilityTimeoutSec: 0.05 });
  db.prepare("INSERT INTO outbox_drained (source, last_id) VALUES ('tenant-file', 7)").run();
  db.close();
  return { dir, lane, inFlight: inFlight! };
}

describe('the queues move from silopool.sqlite into jobs.sqlite when an earlier data directory opens', () => {
  it('every message, receive count, dedup id, limit and outbox mark arrives once; the old file keeps none', async () => {
    const { dir, lane, inFlight } = await earlierLayout();
    const platform = openEmbeddedPlatform(dir);
    try {
      for (const table of QUEUE_TABLES) expect(countIn(platform.db, table), table).toBe(0);
      expect(platform.queue.outboxMark('tenant-file')).toBe(7);
      await new Promise((r) => setTimeout(r, 80));
      const got = await platform.queue.receive(lane, { maxMessages: 10 });
      expect(got.map((m) => m.body).sort()).toEqual(['a', 'b', 'c']);
      expect(got.find((m) => m.body === inFlight.body)?.receiveCount).toBe(2);
      // Dedup ids came along: a resend inside the window is the same message, not a new one.
      await platform.queue.send(lane, { body: 'a again', groupId: 'acme', dedupId: 'a' });
      expect(await platform.queue.receive(lane, { maxMessages: 10 })).toEqual([]);
    } finally {
      await platform.close();
    }
  });

  it('a crash between the copy and the emptying copies nothing twice on the next open', async () => {
    const { dir, lane } = await earlierLayout();
    const from = openDatabase(join(dir, 'silopool.sqlite'));
    const to = openDatabase(join(dir, 'jobs.sqlite'));
    // The emptying of the old file fails after the copy committed, as a kill at that point would leave it.
    from.exec(
      "CREATE TEMP TRIGGER no_empty BEFORE DELETE ON main.messages BEGIN SELECT RAISE(ABORT, 'killed'); END",
    );
    expect(() => moveQueueTables(from, to)).toThrow('killed');
    expect(countIn(from, 'messages')).toBe(3);
    expect(countIn(to, 'messages')).toBe(3);
    from.close();
    to.close();

    const platform = openEmbeddedPlatform(dir);
    try {
      expect(countIn(platform.db, 'messages')).toBe(0);
      expect(countIn(platform.jobsDb, 'messages')).toBe(3);
      expect(countIn(platform.jobsDb, 'queues')).toBe(1);
      await new Promise((r) => setTimeout(r, 80));
      expect((await platform.queue.receive(lane, { maxMessages: 10 })).length).toBe(3);
    } finally {
      await platform.close();
    }
  });

  it('a data directory with nothing to move is left alone (one read)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-queue-home-'));
    dirs.push(dir);
    const from = openDatabase(join(dir, 'silopool.sqlite'));
    const to = openDatabase(join(dir, 'jobs.sqlite'));
    expect(moveQueueTables(from, to)).toBe(0);
    from.close();
    to.close();
  });
});
