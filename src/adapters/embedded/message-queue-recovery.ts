import { ValidationError } from '../../core/errors.ts';
import type {
  DeadLetterOutbox,
  DeadLetterRecord,
  QueueScan,
  RetryRelease,
  RunningLimits,
  UncountedRelease,
} from '../../ports/message-queue.ts';
import type { SqliteDatabase } from './database.ts';
import { CLAIM_SQL, countByGroup } from './message-queue-claim.ts';
import type { QueueWake } from './queue-wake.ts';

/** A receipt handle is `{seq}.{nonce}` (see the claim). */
export function parseHandle(handle: string): { seq: number; nonce: string } {
  const dot = handle.indexOf('.');
  const seq = dot > 0 ? Number(handle.slice(0, dot)) : Number.NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new ValidationError([{ path: '/receiptHandle', message: 'is not a receipt handle of this queue' }]);
  }
  return { seq, nonce: handle.slice(dot + 1) };
}

interface OutboxRow {
  id: number;
  source: string;
  message_id: string;
  body: string;
  receive_count: number;
  moved_at: number;
}

/**
 * What the embedded queue offers beyond SQS for recovering jobs: giving back a delivery that never
 * started, the outbox of dead-letter moves (written by the claim, see message-queue-claim.ts), and a scan
 * of the messages on a queue.
 */
export function createRecoveryMethods(
  db: SqliteDatabase,
  waker: () => QueueWake,
): UncountedRelease & RetryRelease & RunningLimits & DeadLetterOutbox & QueueScan {
  const stmt = {
    // The receive count goes back, so a delivery that never ran brings nothing nearer the DLQ.
    releaseUnstarted: db.prepare(
      `UPDATE messages SET visible_at = ?, receipt = NULL, receive_count = max(0, receive_count - 1),
         first_received_at = CASE WHEN receive_count <= 1 THEN NULL ELSE first_received_at END
       WHERE seq = ? AND queue = ? AND receipt = ? AND ready = 0`,
    ),
    // The receipt goes, so the message stops counting as in flight (see the claim's running limits).
    releaseForRetry: db.prepare(
      'UPDATE messages SET visible_at = ?, receipt = NULL WHERE seq = ? AND queue = ? AND receipt = ? AND ready = 0',
    ),
    setLimit: db.prepare('INSERT OR REPLACE INTO group_limits (grp, max_running) VALUES (?, ?)'),
    running: db.prepare<[string, number], { grp: string }>(CLAIM_SQL.running),
    deadLettered: db.prepare<[number], OutboxRow>('SELECT * FROM dead_letter_outbox ORDER BY id LIMIT ?'),
    settle: db.prepare('DELETE FROM dead_letter_outbox WHERE id = ?'),
    scan: db.prepare<[string], { body: string; receive_count: number }>(
      'SELECT body, receive_count FROM messages WHERE queue = ?',
    ),
  };
  return {
    async releaseUnstarted(queue, receiptHandle) {
      const { seq, nonce } = parseHandle(receiptHandle);
      stmt.releaseUnstarted.run(Date.now(), seq, queue, nonce);
      waker().wake(queue);
    },
    async releaseForRetry(queue, receiptHandle, delaySec) {
      const { seq, nonce } = parseHandle(receiptHandle);
      stmt.releaseForRetry.run(Date.now() + Math.round(delaySec * 1000), seq, queue, nonce);
    },
    async setGroupLimit(group, maxRunning) {
      stmt.setLimit.run(group, Math.max(0, Math.trunc(maxRunning)));
    },
    async runningByGroup(scope) {
      const now = Date.now();
      return countByGroup(scope.flatMap((queue) => stmt.running.all(queue, now)));
    },
    async deadLettered(max): Promise<DeadLetterRecord[]> {
      return stmt.deadLettered.all(Math.max(1, Math.trunc(max))).map((r) => ({
        id: r.id,
        source: r.source,
        messageId: r.message_id,
        body: r.body,
        receiveCount: r.receive_count,
        movedAt: r.moved_at,
      }));
    },
    async settled(ids) {
      db.transaction(() => {
        for (const id of ids) stmt.settle.run(id);
      }).immediate();
    },
    async scan(queue) {
      return stmt.scan.all(queue).map((r) => ({ body: r.body, receiveCount: r.receive_count }));
    },
  };
}
