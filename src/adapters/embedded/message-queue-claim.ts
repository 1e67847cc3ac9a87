import { startTags } from '../../core/fair-scheduling.ts';
import type { ReceivedMessage } from '../../ports/message-queue.ts';
import type { SqliteDatabase } from './database.ts';

export interface QueueRow {
  name: string;
  visibility_timeout_ms: number;
  max_receive_count: number | null;
  dead_letter_queue: string | null;
  retention_ms: number;
  vtime: number;
}

interface GroupRow {
  grp: string;
  vtime: number;
}

interface HeadRow {
  seq: number;
  id: string;
  cost: number;
  body: string;
  attributes: string | null;
  sent_at: number;
  receive_count: number;
  first_received_at: number | null;
}

/** Groups are read a page at a time: better-sqlite3 cannot write while an iterator is open. */
const GROUP_PAGE = 32;

/**
 * The two reads of every claim; exported so a test can check SQLite plans them as index searches.
 * `INDEXED BY` because without statistics the planner prefers `messages_visible` and sorts the group.
 */
export const CLAIM_SQL = {
  groups: `SELECT grp, vtime FROM queue_groups WHERE queue = ? AND (vtime, grp) > (?, ?)
           ORDER BY vtime, grp LIMIT ${GROUP_PAGE}`,
  head: `SELECT seq, id, cost, body, attributes, sent_at, receive_count, first_received_at
         FROM messages INDEXED BY messages_claim
         WHERE queue = ? AND grp = ? AND visible_at <= ? ORDER BY priority, seq LIMIT 1`,
} as const;

/**
 * The claim path: start-time fair queueing across groups (see core/fair-scheduling.ts), persisted so
 * that every process claiming from the file follows one schedule. Runs in one BEGIN IMMEDIATE
 * transaction, so two processes never hand out the same message.
 *
 * Cost per message: one ordered index step over `queue_groups_order` to the group with the smallest
 * virtual time that has a visible message, and one over `messages_claim` to that group's head, both
 * O(log n) in the number of queued messages.
 */
export function createFairClaim(db: SqliteDatabase) {
  const stmt = {
    queue: db.prepare<[string], QueueRow>('SELECT * FROM queues WHERE name = ?'),
    groups: db.prepare<[string, number, string], GroupRow>(CLAIM_SQL.groups),
    head: db.prepare<[string, string, number], HeadRow>(CLAIM_SQL.head),
    hasMessages: db.prepare<[string, string], { one: number }>(
      'SELECT 1 AS one FROM messages WHERE queue = ? AND grp = ? LIMIT 1',
    ),
    dropGroup: db.prepare('DELETE FROM queue_groups WHERE queue = ? AND grp = ?'),
    weight: db.prepare<[string, string], { weight: number }>(
      'SELECT weight FROM group_weights WHERE queue = ? AND grp = ?',
    ),
    markReceived: db.prepare(
      `UPDATE messages SET receive_count = receive_count + 1, visible_at = ?, receipt = ?,
         first_received_at = coalesce(first_received_at, ?) WHERE seq = ?`,
    ),
    setGroupTime: db.prepare('UPDATE queue_groups SET vtime = ? WHERE queue = ? AND grp = ?'),
    setQueueTime: db.prepare('UPDATE queues SET vtime = ? WHERE name = ?'),
    deleteMessage: db.prepare('DELETE FROM messages WHERE seq = ?'),
    moveMessage: db.prepare('UPDATE messages SET queue = ?, visible_at = ?, receipt = NULL WHERE seq = ?'),
    ensureGroup: db.prepare(
      `INSERT INTO queue_groups (queue, grp, vtime) SELECT name, ?, vtime FROM queues WHERE name = ? AND true
       ON CONFLICT (queue, grp) DO UPDATE SET vtime = max(vtime, excluded.vtime)`,
    ),
    createDlq: db.prepare(
      'INSERT OR IGNORE INTO queues (name, visibility_timeout_ms, retention_ms) VALUES (?, 30000, ?)',
    ),
  };

  /** The next visible message of the fairest group, dropping what expired and dead-lettering what exceeded its receives. */
  function pickOne(
    queue: QueueRow,
    now: number,
    excluded: ReadonlySet<string> | undefined,
  ): { group: GroupRow; head: HeadRow } | undefined {
    let after: GroupRow = { grp: '', vtime: Number.NEGATIVE_INFINITY };
    for (;;) {
      const page = stmt.groups.all(queue.name, after.vtime, after.grp);
      for (const group of page) {
        if (excluded?.has(group.grp)) continue;
        const head = nextLiveHead(queue, group.grp, now);
        if (head) return { group, head };
        // Idle and behind the queue's clock: it would restart at the queue's time anyway, so forget it.
        if (group.vtime <= queue.vtime && !stmt.hasMessages.get(queue.name, group.grp)) {
          stmt.dropGroup.run(queue.name, group.grp);
        }
      }
      const last = page.at(-1);
      if (!last || page.length < GROUP_PAGE) return undefined;
      after = last;
    }
  }

  function nextLiveHead(queue: QueueRow, group: string, now: number): HeadRow | undefined {
    for (;;) {
      const head = stmt.head.get(queue.name, group, now);
      if (!head) return undefined;
      if (head.sent_at + queue.retention_ms <= now) {
        stmt.deleteMessage.run(head.seq);
        continue;
      }
      // SQS moves a message on the receive that would exceed maxReceiveCount.
      if (
        queue.max_receive_count !== null &&
        queue.dead_letter_queue &&
        head.receive_count >= queue.max_receive_count
      ) {
        stmt.createDlq.run(queue.dead_letter_queue, queue.retention_ms);
        stmt.moveMessage.run(queue.dead_letter_queue, now, head.seq);
        stmt.ensureGroup.run(group, queue.dead_letter_queue);
        continue;
      }
      return head;
    }
  }

  const claimTx = db.transaction(
    (
      queueName: string,
      max: number,
      visibilityMs: number,
      excluded: ReadonlySet<string> | undefined,
      nonce: () => string,
    ): ReceivedMessage[] => {
      const queue = stmt.queue.get(queueName);
      if (!queue) return [];
      const now = Date.now();
      const weights = new Map<string, number>();
      const out: ReceivedMessage[] = [];
      while (out.length < max) {
        const picked = pickOne(queue, now, excluded);
        if (!picked) break;
        const { group, head } = picked;
        let weight = weights.get(group.grp);
        if (weight === undefined) {
          weight = stmt.weight.get(queueName, group.grp)?.weight ?? 1;
          weights.set(group.grp, weight);
        }
        const tags = startTags(group.vtime, queue.vtime, head.cost, weight);
        queue.vtime = tags.start;
        stmt.setGroupTime.run(tags.finish, queueName, group.grp);
        const receipt = nonce();
        stmt.markReceived.run(now + visibilityMs, receipt, now, head.seq);
        out.push({
          messageId: head.id,
          receiptHandle: `${head.seq}.${receipt}`,
          body: head.body,
          ...(group.grp === '' ? {} : { groupId: group.grp }),
          attributes: head.attributes === null ? {} : (JSON.parse(head.attributes) as Record<string, string>),
          receiveCount: head.receive_count + 1,
          sentAt: head.sent_at,
          firstReceivedAt: head.first_received_at ?? now,
        });
      }
      stmt.setQueueTime.run(queue.vtime, queueName);
      return out;
    },
  );

  return (
    queue: string,
    max: number,
    visibilityMs: number,
    excluded: ReadonlySet<string> | undefined,
    nonce: () => string,
  ): ReceivedMessage[] => claimTx.immediate(queue, max, visibilityMs, excluded, nonce);
}
