import { startTags } from '../../core/fair-scheduling.ts';
import type { ReceivedMessage, RunningLimit } from '../../ports/message-queue.ts';
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

/** (vtime, grp) order, as in the index `queue_groups_order`. */
function compareGroups(a: GroupRow, b: GroupRow): number {
  if (a.vtime !== b.vtime) return a.vtime < b.vtime ? -1 : 1;
  return a.grp < b.grp ? -1 : a.grp > b.grp ? 1 : 0;
}

interface HeadRow {
  seq: number;
  id: string;
  priority: number;
  cost: number;
  body: string;
  attributes: string | null;
  sent_at: number;
  receive_count: number;
  first_received_at: number | null;
}

/** Groups are read a page at a time: better-sqlite3 cannot write while an iterator is open. */
const GROUP_PAGE = 8;

/**
 * The statements of every claim; exported so a test can check SQLite plans them as index searches.
 * `INDEXED BY` pins the partial indexes, which the planner does not pick without statistics.
 */
export const CLAIM_SQL = {
  groups: `SELECT grp, vtime FROM queue_groups WHERE queue = ? AND (vtime, grp) > (?, ?)
           ORDER BY vtime, grp LIMIT ${GROUP_PAGE}`,
  head: `SELECT seq, id, priority, cost, body, attributes, sent_at, receive_count, first_received_at
         FROM messages INDEXED BY messages_ready
         WHERE queue = ? AND grp = ? AND ready = 1 ORDER BY priority, seq LIMIT 1`,
  dueGroups: `SELECT grp FROM messages INDEXED BY messages_waiting
              WHERE queue = ? AND ready = 0 AND visible_at <= ?`,
  promoteDue: `UPDATE messages INDEXED BY messages_waiting SET ready = 1
               WHERE queue = ? AND ready = 0 AND visible_at <= ?`,
  // In flight = received, its visibility not run out, not released (a release clears the receipt). Only
  // in-flight and delayed rows are stepped over (few: the messages being run), counted per group by the caller.
  running: `SELECT grp FROM messages INDEXED BY messages_waiting
            WHERE queue = ? AND ready = 0 AND visible_at > ? AND receipt IS NOT NULL`,
} as const;

/**
 * The claim path: start-time fair queueing across groups (see core/fair-scheduling.ts), persisted so
 * that every process claiming from the file follows one schedule. Runs in one BEGIN IMMEDIATE
 * transaction, so two processes never hand out the same message.
 *
 * Cost per message: one ordered index step over `queue_groups_order` to the group with the smallest
 * virtual time that has a ready message, and one probe of `messages_ready` for that group's head, both
 * O(log n) in the number of queued messages; in-flight messages are in another index and never stepped over.
 */
export function createFairClaim(db: SqliteDatabase) {
  const stmt = {
    queue: db.prepare<[string], QueueRow>('SELECT * FROM queues WHERE name = ?'),
    groups: db.prepare<[string, number, string], GroupRow>(CLAIM_SQL.groups),
    head: db.prepare<[string, string], HeadRow>(CLAIM_SQL.head),
    dueGroups: db.prepare<[string, number], { grp: string }>(CLAIM_SQL.dueGroups),
    promoteDue: db.prepare(CLAIM_SQL.promoteDue),
    dropGroup: db.prepare('DELETE FROM queue_groups WHERE queue = ? AND grp = ?'),
    dropGroups: db.prepare('DELETE FROM queue_groups WHERE queue = ?'),
    anyReady: db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM messages INDEXED BY messages_ready WHERE queue = ? AND ready = 1 LIMIT 1',
    ),
    anyDue: db.prepare<[string, number], { one: number }>(
      'SELECT 1 AS one FROM messages INDEXED BY messages_waiting WHERE queue = ? AND ready = 0 AND visible_at <= ? LIMIT 1',
    ),
    anyGroup: db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM queue_groups WHERE queue = ? LIMIT 1',
    ),
    maxGroupTime: db.prepare<[string], { t: number | null }>(
      'SELECT max(vtime) AS t FROM queue_groups WHERE queue = ?',
    ),
    weight: db.prepare<[string, string], { weight: number }>(
      'SELECT weight FROM group_weights WHERE queue = ? AND grp = ?',
    ),
    markReceived: db.prepare(
      `UPDATE messages SET ready = 0, receive_count = receive_count + 1, visible_at = ?, receipt = ?,
         first_received_at = coalesce(first_received_at, ?) WHERE seq = ?`,
    ),
    setGroupTime: db.prepare('UPDATE queue_groups SET vtime = ? WHERE queue = ? AND grp = ?'),
    setQueueTime: db.prepare('UPDATE queues SET vtime = ? WHERE name = ?'),
    deleteMessage: db.prepare('DELETE FROM messages WHERE seq = ?'),
    // Moved as waiting-and-due: the DLQ's next claim promotes it and gives its group a row there.
    moveMessage: db.prepare(
      'UPDATE messages SET queue = ?, ready = 0, visible_at = ?, receipt = NULL WHERE seq = ?',
    ),
    ensureGroup: db.prepare(
      `INSERT INTO queue_groups (queue, grp, vtime) SELECT name, ?, vtime FROM queues WHERE name = ? AND true
       ON CONFLICT (queue, grp) DO UPDATE SET vtime = max(vtime, excluded.vtime)`,
    ),
    recordDeadLetter: db.prepare(
      'INSERT INTO dead_letter_outbox (source, message_id, body, receive_count, moved_at) VALUES (?, ?, ?, ?, ?)',
    ),
    running: db.prepare<[string, number], { grp: string }>(CLAIM_SQL.running),
    groupLimit: db.prepare<[string], { max_running: number }>(
      'SELECT max_running FROM group_limits WHERE grp = ?',
    ),
    pausedGroups: db.prepare<[], { grp: string }>(
      'SELECT grp FROM group_limits INDEXED BY group_limits_paused WHERE max_running <= 0',
    ),
    createDlq: db.prepare(
      'INSERT OR IGNORE INTO queues (name, visibility_timeout_ms, retention_ms) VALUES (?, 30000, ?)',
    ),
  };

  /**
   * The groups of one claim transaction, in (vtime, grp) order. Pages are read lazily and their times
   * updated in memory, written back once at commit: nobody else can write inside BEGIN IMMEDIATE, and a
   * row not yet read is known to sort after `boundary`, so the in-memory minimum is the true one.
   */
  function groupWindow(queueName: string, excluded: ReadonlySet<string> | undefined) {
    const loaded: GroupRow[] = [];
    const idle = new Set<string>();
    let boundary: GroupRow = { grp: '', vtime: Number.NEGATIVE_INFINITY };
    let exhausted = false;
    return {
      /** The eligible group with the smallest virtual time, or undefined when none has work. */
      next(): GroupRow | undefined {
        for (;;) {
          let best: GroupRow | undefined;
          for (const g of loaded) {
            if (idle.has(g.grp) || excluded?.has(g.grp)) continue;
            if (!best || compareGroups(g, best) < 0) best = g;
          }
          if (best && (exhausted || compareGroups(best, boundary) <= 0)) return best;
          if (exhausted) return undefined;
          const page = stmt.groups.all(queueName, boundary.vtime, boundary.grp);
          if (page.length < GROUP_PAGE) exhausted = true;
          const last = page.at(-1);
          if (last) boundary = { ...last };
          loaded.push(...page);
        }
      },
      /** True when every group has been read and none has a ready message, excluded ones included. */
      allIdle(): boolean {
        return exhausted && loaded.every((g) => idle.has(g.grp) || !stmt.head.get(queueName, g.grp));
      },
      /** A group found with nothing ready: skipped for the rest of this claim. */
      markIdle(group: string): void {
        idle.add(group);
      },
    };
  }

  function nextLiveHead(queue: QueueRow, group: string, now: number): HeadRow | undefined {
    for (;;) {
      const head = stmt.head.get(queue.name, group);
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
        // Same transaction as the move: a dead letter is never without its record, nor the reverse.
        stmt.recordDeadLetter.run(queue.name, head.id, head.body, head.receive_count, now);
        continue;
      }
      return head;
    }
  }

  /** Messages in flight per group over the limit's scope, at `now`. */
  function runningOver(scope: readonly string[], now: number): Map<string, number> {
    return countByGroup(scope.flatMap((queue) => stmt.running.all(queue, now)));
  }

  /**
   * The running limits of one claim: groups at their limit join `blocked`, and each message handed out
   * counts at once, so one claim of several messages cannot pass a limit either. Counted inside the
   * claim's BEGIN IMMEDIATE, so claims on other connections (other function threads) see the same counts.
   */
  function runningLimits(limit: RunningLimit, blocked: Set<string>, now: number) {
    const counts = runningOver(limit.scope, now);
    const limits = new Map<string, number>();
    const limitOf = (group: string): number => {
      let known = limits.get(group);
      if (known === undefined) {
        known = stmt.groupLimit.get(group)?.max_running ?? limit.defaultLimit;
        limits.set(group, known);
      }
      return known;
    };
    for (const { grp } of stmt.pausedGroups.all()) blocked.add(grp);
    for (const [group, n] of counts) if (group !== '' && n >= limitOf(group)) blocked.add(group);
    return {
      /** A message of `group` was handed out. */
      started(group: string): void {
        if (group === '') return;
        const n = (counts.get(group) ?? 0) + 1;
        counts.set(group, n);
        if (n >= limitOf(group)) blocked.add(group);
      },
    };
  }

  const claimTx = db.transaction(
    (
      queueName: string,
      max: number,
      visibilityMs: number,
      excluded: ReadonlySet<string> | undefined,
      nonce: () => string,
      limit: RunningLimit | undefined,
    ): ReceivedMessage[] => {
      const queue = stmt.queue.get(queueName);
      if (!queue) return [];
      const startTime = queue.vtime;
      const now = Date.now();
      // Visibility timeouts that ran out and delays that ended: back to ready, with their groups scheduled.
      const due = stmt.dueGroups.all(queueName, now);
      if (due.length > 0) {
        stmt.promoteDue.run(queueName, now);
        for (const grp of new Set(due.map((d) => d.grp))) stmt.ensureGroup.run(grp, queueName);
      }
      const weights = new Map<string, number>();
      const charged = new Set<GroupRow>();
      const blocked = new Set(excluded);
      const limits = limit ? runningLimits(limit, blocked, now) : undefined;
      const groups = groupWindow(queueName, blocked);
      const out: ReceivedMessage[] = [];
      while (out.length < max) {
        const group = groups.next();
        if (!group) break;
        const head = nextLiveHead(queue, group.grp, now);
        if (!head) {
          groups.markIdle(group.grp);
          // Nothing ready and behind the queue's clock: it would restart at the queue's time anyway, so
          // forget it. Its in-flight messages bring the row back when they come due (promoteDue).
          if (group.vtime <= queue.vtime) stmt.dropGroup.run(queueName, group.grp);
          continue;
        }
        let weight = weights.get(group.grp);
        if (weight === undefined) {
          weight = stmt.weight.get(queueName, group.grp)?.weight ?? 1;
          weights.set(group.grp, weight);
        }
        const tags = startTags(group.vtime, queue.vtime, head.cost, weight);
        queue.vtime = tags.start;
        group.vtime = tags.finish;
        charged.add(group);
        const receipt = nonce();
        stmt.markReceived.run(now + visibilityMs, receipt, now, head.seq);
        limits?.started(group.grp);
        out.push({
          messageId: head.id,
          receiptHandle: `${head.seq}.${receipt}`,
          body: head.body,
          ...(group.grp === '' ? {} : { groupId: group.grp }),
          attributes: head.attributes === null ? {} : (JSON.parse(head.attributes) as Record<string, string>),
          priority: head.priority,
          cost: head.cost,
          receiveCount: head.receive_count + 1,
          sentAt: head.sent_at,
          firstReceivedAt: head.first_received_at ?? now,
        });
      }
      for (const group of charged) stmt.setGroupTime.run(group.vtime, queueName, group.grp);
      // End of a busy period (same rule as FairScheduler): the clock jumps to the largest finish tag and
      // every group row goes; in-flight messages bring theirs back when they come due.
      if (out.length < max && groups.allIdle()) {
        queue.vtime = Math.max(queue.vtime, stmt.maxGroupTime.get(queueName)?.t ?? queue.vtime);
        stmt.dropGroups.run(queueName);
      }
      if (queue.vtime !== startTime) stmt.setQueueTime.run(queue.vtime, queueName);
      return out;
    },
  );

  return (
    queue: string,
    max: number,
    visibilityMs: number,
    excluded: ReadonlySet<string> | undefined,
    nonce: () => string,
    limit?: RunningLimit,
  ): ReceivedMessage[] => {
    // Idle pollers (one per dedicated queue, every 100 ms) must not take the write lock for nothing.
    // Group rows left over mean the end of a busy period is still to be recorded, so that goes through.
    const now = Date.now();
    if (!stmt.anyReady.get(queue) && !stmt.anyDue.get(queue, now) && !stmt.anyGroup.get(queue)) return [];
    return claimTx.immediate(queue, max, visibilityMs, excluded, nonce, limit);
  };
}

/** Rows per group. */
export function countByGroup(rows: readonly { grp: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { grp } of rows) counts.set(grp, (counts.get(grp) ?? 0) + 1);
  return counts;
}
