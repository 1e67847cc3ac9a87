import { randomBytes, randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { normaliseCost, normaliseWeight } from '../../core/fair-scheduling.ts';
import type {
  DeadLetterOutbox,
  MessageQueue,
  QueueDepth,
  QueueScan,
  QueueSettings,
  ReceivedMessage,
  ReceiveOptions,
  RetryRelease,
  RunningLimits,
  SendMessage,
  UncountedRelease,
} from '../../ports/message-queue.ts';
import type { SqliteDatabase } from './database.ts';
import { createFairClaim, type QueueRow } from './message-queue-claim.ts';
import { createOutboxMethods, type OutboxIntake } from './message-queue-outbox.ts';
import { createRecoveryMethods, parseHandle } from './message-queue-recovery.ts';
import { queueWakeFor } from './queue-wake.ts';

/** SQS FIFO's deduplication window. */
const DEDUP_WINDOW_MS = 5 * 60_000;
const DEFAULT_RETENTION_SEC = 4 * 24 * 3600;
const MAX_DELAY_SEC = 900;
const MAX_VISIBILITY_SEC = 12 * 3600;
const SWEEP_EVERY_MS = 60_000;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export interface SqliteMessageQueueOptions {
  /** How often a long poll re-checks for messages sent by other processes (same-process sends wake it at once). */
  pollIntervalMs?: number;
}

/** The embedded queue adds group weights: on AWS, SQS fair queues decide shares themselves. */
export interface SqliteMessageQueue
  extends MessageQueue,
    UncountedRelease,
    RetryRelease,
    RunningLimits,
    DeadLetterOutbox,
    QueueScan,
    OutboxIntake {
  /** The relative share of `group` (a tenant's plan weight) in fair scheduling on `queue`. */
  setGroupWeight(queue: string, group: string, weight: number): Promise<void>;
}

/** A receipt handle is `{seq}.{nonce}`; the nonce is new on every receive, so an old handle matches nothing. */
const noncePrefix = randomBytes(6).toString('base64url');
let nonceCounter = 0;
function newNonce(): string {
  nonceCounter = (nonceCounter + 1) % Number.MAX_SAFE_INTEGER;
  return noncePrefix + nonceCounter.toString(36);
}

interface PendingDelete {
  queue: string;
  seq: number;
  nonce: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function checkRange(path: string, value: number | undefined, max: number): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new ValidationError([{ path, message: `must be between 0 and ${max} seconds` }]);
  }
}

/** An SQS-semantics queue on SQLite, safe for several processes on one file, with fair claims by group. */
export function createSqliteMessageQueue(
  db: SqliteDatabase,
  options: SqliteMessageQueueOptions = {},
): SqliteMessageQueue {
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const waker = queueWakeFor(db.name);
  const lastSweep = new Map<string, number>();

  const stmt = {
    getQueue: db.prepare<[string], QueueRow>('SELECT * FROM queues WHERE name = ?'),
    upsertQueue: db.prepare(
      `INSERT INTO queues (name, visibility_timeout_ms, max_receive_count, dead_letter_queue, retention_ms)
       VALUES (@name, @vis, @max, @dlq, @ret)
       ON CONFLICT (name) DO UPDATE SET visibility_timeout_ms = excluded.visibility_timeout_ms,
         max_receive_count = excluded.max_receive_count, dead_letter_queue = excluded.dead_letter_queue,
         retention_ms = excluded.retention_ms`,
    ),
    createDefaultQueue: db.prepare(
      'INSERT OR IGNORE INTO queues (name, visibility_timeout_ms, retention_ms) VALUES (?, 30000, ?)',
    ),
    deleteQueueRow: db.prepare('DELETE FROM queues WHERE name = ?'),
    deleteMessages: db.prepare('DELETE FROM messages WHERE queue = ?'),
    deleteGroups: db.prepare('DELETE FROM queue_groups WHERE queue = ?'),
    deleteWeights: db.prepare('DELETE FROM group_weights WHERE queue = ?'),
    deleteDedup: db.prepare('DELETE FROM dedup WHERE queue = ?'),
    listQueues: db.prepare<[string, string], { name: string }>(
      'SELECT name FROM queues WHERE substr(name, 1, length(?)) = ? ORDER BY name',
    ),
    insertMessage: db.prepare(
      `INSERT INTO messages (queue, id, grp, priority, cost, body, attributes, sent_at, visible_at, ready)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // A group joins (or is lifted) at the queue's virtual time: no banked credit, same ties as FairScheduler.
    ensureGroup: db.prepare(
      `INSERT INTO queue_groups (queue, grp, vtime) SELECT name, ?, vtime FROM queues WHERE name = ? AND true
       ON CONFLICT (queue, grp) DO UPDATE SET vtime = max(vtime, excluded.vtime)`,
    ),
    findDedup: db.prepare<[string, string, number], { message_id: string }>(
      'SELECT message_id FROM dedup WHERE queue = ? AND dedup_id = ? AND expires_at > ?',
    ),
    putDedup: db.prepare(
      'INSERT OR REPLACE INTO dedup (queue, dedup_id, message_id, expires_at) VALUES (?, ?, ?, ?)',
    ),
    sweepDedup: db.prepare('DELETE FROM dedup WHERE queue = ? AND expires_at <= ?'),
    // A full scan of the queue, hence only once a minute; expired heads are also dropped by the claim.
    sweepExpired: db.prepare('DELETE FROM messages WHERE queue = ? AND sent_at < ?'),
    deleteByHandle: db.prepare('DELETE FROM messages WHERE seq = ? AND queue = ? AND receipt = ?'),
    // Only while in flight: once its visibility ran out (promoted or not yet) the old handle no longer hides it.
    setVisibility: db.prepare(
      'UPDATE messages SET visible_at = ? WHERE seq = ? AND queue = ? AND receipt = ? AND ready = 0 AND visible_at > ?',
    ),
    // Ready messages are counted from their index; waiting ones (few: in flight or delayed) row by row.
    depthReady: db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM messages INDEXED BY messages_ready WHERE queue = ? AND ready = 1',
    ),
    depthWaiting: db.prepare<
      [number, number, number, string],
      { visible: number; inFlight: number; delayed: number }
    >(
      `SELECT coalesce(sum(visible_at <= ?), 0) AS visible,
              coalesce(sum(visible_at > ? AND receive_count > 0), 0) AS inFlight,
              coalesce(sum(visible_at > ? AND receive_count = 0), 0) AS delayed
       FROM messages INDEXED BY messages_waiting WHERE queue = ? AND ready = 0`,
    ),
    depthByGroup: db.prepare<[string, string, number], { grp: string; n: number }>(
      `SELECT grp, count(*) AS n FROM (
         SELECT grp FROM messages INDEXED BY messages_ready WHERE queue = ? AND ready = 1
         UNION ALL
         SELECT grp FROM messages INDEXED BY messages_waiting WHERE queue = ? AND ready = 0 AND visible_at <= ?
       ) GROUP BY grp`,
    ),
    nextVisibleAt: db.prepare<[string], { t: number | null }>(
      'SELECT min(visible_at) AS t FROM messages INDEXED BY messages_waiting WHERE queue = ? AND ready = 0',
    ),
    setWeight: db.prepare('INSERT OR REPLACE INTO group_weights (queue, grp, weight) VALUES (?, ?, ?)'),
  };

  const claim = createFairClaim(db);

  const requireQueue = (name: string): QueueRow => {
    const row = stmt.getQueue.get(name);
    if (!row) throw new NotFoundError(`Queue ${name}`);
    return row;
  };

  const insertOne = (queue: QueueRow, message: SendMessage, now: number, seenGroups: Set<string>): string => {
    checkRange('/delaySec', message.delaySec, MAX_DELAY_SEC);
    if (message.dedupId !== undefined) {
      const seen = stmt.findDedup.get(queue.name, message.dedupId, now);
      if (seen) return seen.message_id;
    }
    const id = randomUUID();
    const group = message.groupId ?? '';
    const attributes =
      message.attributes && Object.keys(message.attributes).length > 0
        ? JSON.stringify(message.attributes)
        : null;
    stmt.insertMessage.run(
      queue.name,
      id,
      group,
      Math.trunc(message.priority ?? 0),
      normaliseCost(message.cost),
      message.body,
      attributes,
      now,
      now + Math.round((message.delaySec ?? 0) * 1000),
      message.delaySec ? 0 : 1,
    );
    // A delayed message gets its group row when it comes due.
    if (!message.delaySec && !seenGroups.has(group)) {
      stmt.ensureGroup.run(group, queue.name);
      seenGroups.add(group);
    }
    if (message.dedupId !== undefined)
      stmt.putDedup.run(queue.name, message.dedupId, id, now + DEDUP_WINDOW_MS);
    return id;
  };

  const sendAll = db.transaction((queueName: string, messages: SendMessage[]): string[] => {
    const queue = requireQueue(queueName);
    const now = Date.now();
    const seenGroups = new Set<string>();
    return messages.map((m) => insertOne(queue, m, now, seenGroups));
  });

  const sweep = (queue: QueueRow, now: number): void => {
    if (now - (lastSweep.get(queue.name) ?? 0) < SWEEP_EVERY_MS) return;
    lastSweep.set(queue.name, now);
    db.transaction(() => {
      stmt.sweepExpired.run(queue.name, now - queue.retention_ms);
      stmt.sweepDedup.run(queue.name, now);
    }).immediate();
  };

  /**
   * Group commit: deletes issued in the same tick (a handler finishing a batch) share one transaction.
   * Each promise still resolves only after its delete is committed.
   */
  let pendingDeletes: PendingDelete[] = [];
  const deleteAll = db.transaction((items: PendingDelete[]) => {
    for (const d of items) stmt.deleteByHandle.run(d.seq, d.queue, d.nonce);
  });
  const flushDeletes = (): void => {
    const items = pendingDeletes;
    pendingDeletes = [];
    try {
      deleteAll.immediate(items);
    } catch (error) {
      for (const d of items) d.reject(error);
      return;
    }
    for (const d of items) d.resolve();
  };

  return {
    async createQueue(name, settings: QueueSettings) {
      for (const [path, value] of [
        ['/name', name],
        ['/deadLetterQueue', settings.deadLetterQueue],
      ] as const) {
        // SQS's rule, so a name that works here works on AWS too.
        if (value !== undefined && !QUEUE_NAME.test(value)) {
          throw new ValidationError([
            { path, message: 'must be 1-80 letters, digits, hyphens or underscores' },
          ]);
        }
      }
      checkRange('/visibilityTimeoutSec', settings.visibilityTimeoutSec, MAX_VISIBILITY_SEC);
      // SQS's range: a redrive after 0 receives would dead-letter every message before anyone received it.
      const receives = settings.maxReceiveCount;
      if (receives !== undefined && !(Number.isInteger(receives) && receives >= 1 && receives <= 1000)) {
        throw new ValidationError([
          { path: '/maxReceiveCount', message: 'must be a whole number from 1 to 1000' },
        ]);
      }
      db.transaction(() => {
        if (settings.deadLetterQueue) {
          stmt.createDefaultQueue.run(settings.deadLetterQueue, DEFAULT_RETENTION_SEC * 1000);
        }
        stmt.upsertQueue.run({
          name,
          vis: Math.round(settings.visibilityTimeoutSec * 1000),
          max: settings.maxReceiveCount ?? null,
          dlq: settings.deadLetterQueue ?? null,
          ret: Math.round((settings.retentionSec ?? DEFAULT_RETENTION_SEC) * 1000),
        });
      }).immediate();
    },

    async deleteQueue(name) {
      db.transaction(() => {
        for (const s of [stmt.deleteMessages, stmt.deleteGroups, stmt.deleteWeights, stmt.deleteDedup])
          s.run(name);
        stmt.deleteQueueRow.run(name);
      }).immediate();
    },

    async listQueues(prefix = '') {
      return stmt.listQueues.all(prefix, prefix).map((r) => r.name);
    },

    async send(queue, message) {
      const [messageId] = sendAll.immediate(queue, [message]);
      waker.wake(queue);
      return { messageId: messageId! };
    },

    async sendBatch(queue, messages) {
      if (messages.length === 0) return [];
      const ids = sendAll.immediate(queue, messages);
      waker.wake(queue);
      return ids.map((messageId) => ({ messageId }));
    },

    async receive(queue, receiveOptions: ReceiveOptions): Promise<ReceivedMessage[]> {
      const max = receiveOptions.maxMessages;
      if (!Number.isInteger(max) || max < 1 || max > 10) {
        throw new ValidationError([{ path: '/maxMessages', message: 'must be an integer between 1 and 10' }]);
      }
      checkRange('/visibilityTimeoutSec', receiveOptions.visibilityTimeoutSec, MAX_VISIBILITY_SEC);
      checkRange('/waitTimeSec', receiveOptions.waitTimeSec, 20);
      const deadline = Date.now() + (receiveOptions.waitTimeSec ?? 0) * 1000;
      // Counted before the first claim (see queue-wake.ts): a send after it wakes this poll at once.
      const endPoll = receiveOptions.waitTimeSec ? waker.polling(queue) : undefined;
      try {
        for (;;) {
          const now = Date.now();
          const row = requireQueue(queue);
          sweep(row, now);
          const visibilityMs =
            receiveOptions.visibilityTimeoutSec === undefined
              ? row.visibility_timeout_ms
              : Math.round(receiveOptions.visibilityTimeoutSec * 1000);
          const got = claim(
            queue,
            max,
            visibilityMs,
            receiveOptions.excludeGroups,
            newNonce,
            receiveOptions.runningLimit,
          );
          // Aborting only cuts the wait: a claim is synchronous, so nothing claimed is ever dropped.
          if (got.length > 0 || now >= deadline || receiveOptions.signal?.aborted) return got;
          const next = stmt.nextVisibleAt.get(queue)?.t;
          const untilVisible = next == null ? Number.POSITIVE_INFINITY : Math.max(1, next - now);
          await waker.wait(
            queue,
            Math.min(deadline - now, pollIntervalMs, untilVisible),
            receiveOptions.signal,
          );
        }
      } finally {
        endPoll?.();
      }
    },

    async delete(queue, receiptHandle) {
      const { seq, nonce } = parseHandle(receiptHandle);
      await new Promise<void>((resolve, reject) => {
        pendingDeletes.push({ queue, seq, nonce, resolve, reject });
        if (pendingDeletes.length === 1) queueMicrotask(flushDeletes);
      });
    },

    async changeVisibility(queue, receiptHandle, timeoutSec) {
      checkRange('/timeoutSec', timeoutSec, MAX_VISIBILITY_SEC);
      const { seq, nonce } = parseHandle(receiptHandle);
      const now = Date.now();
      stmt.setVisibility.run(now + Math.round(timeoutSec * 1000), seq, queue, nonce, now);
      if (timeoutSec === 0) waker.wake(queue);
    },

    ...createRecoveryMethods(db, () => waker),

    ...createOutboxMethods(db, sendAll, (queue) => waker.wake(queue)),

    async depth(queue): Promise<QueueDepth> {
      requireQueue(queue);
      const now = Date.now();
      const waiting = stmt.depthWaiting.get(now, now, now, queue)!;
      const ready = stmt.depthReady.get(queue)!.n;
      return { visible: ready + waiting.visible, inFlight: waiting.inFlight, delayed: waiting.delayed };
    },

    async depthByGroup(queue) {
      requireQueue(queue);
      return new Map(stmt.depthByGroup.all(queue, queue, Date.now()).map((r) => [r.grp, r.n]));
    },

    async purge(queue) {
      db.transaction(() => {
        requireQueue(queue);
        stmt.deleteMessages.run(queue);
        stmt.deleteGroups.run(queue);
      }).immediate();
    },

    async setGroupWeight(queue, group, weight) {
      stmt.setWeight.run(queue, group, normaliseWeight(weight));
    },
  };
}
