import type { SendMessage } from '../../ports/message-queue.ts';
import type { SqliteDatabase } from './database.ts';

/** A row of a job database's outbox: a message written in its job's commit, not on its queue yet. */
export interface OutboxEntry {
  id: number;
  queue: string;
  message: SendMessage;
}

/** How the embedded queue takes messages from the outboxes of job databases (see job-intake.ts). */
export interface OutboxIntake {
  /** The highest outbox id of `source` (a job database's identity) already moved onto the queues; 0 if none. */
  outboxMark(source: string): number;
  /**
   * Sends the entries above the mark of `source` and moves the mark to the last one, in one commit: a crash
   * neither loses an entry nor sends it twice. An entry whose queue no longer exists (a lane removed since)
   * is dropped: its job is queued without a message, which the job reconciler settles. Synchronous.
   */
  acceptOutbox(source: string, entries: readonly OutboxEntry[]): { sent: number; dropped: number };
}

export function createOutboxMethods(
  db: SqliteDatabase,
  sendAll: (queue: string, messages: SendMessage[]) => string[],
  wake: (queue: string) => void,
): OutboxIntake {
  const stmt = {
    mark: db.prepare<[string], { last_id: number }>('SELECT last_id FROM outbox_drained WHERE source = ?'),
    setMark: db.prepare(
      `INSERT INTO outbox_drained (source, last_id) VALUES (?, ?)
       ON CONFLICT (source) DO UPDATE SET last_id = max(last_id, excluded.last_id)`,
    ),
    queueExists: db.prepare<[string], { n: number }>('SELECT 1 AS n FROM queues WHERE name = ?'),
  };
  const markOf = (source: string) => stmt.mark.get(source)?.last_id ?? 0;

  const accept = db.transaction((source: string, entries: readonly OutboxEntry[]) => {
    const mark = markOf(source);
    const byQueue = new Map<string, SendMessage[]>();
    let last = mark;
    let dropped = 0;
    for (const entry of entries) {
      if (entry.id <= mark) continue;
      last = Math.max(last, entry.id);
      if (!byQueue.has(entry.queue) && !stmt.queueExists.get(entry.queue)) {
        dropped++;
        continue;
      }
      const messages = byQueue.get(entry.queue) ?? [];
      messages.push(entry.message);
      byQueue.set(entry.queue, messages);
    }
    let sent = 0;
    for (const [queue, messages] of byQueue) sent += sendAll(queue, messages).length;
    if (last > mark) stmt.setMark.run(source, last);
    return { sent, dropped, queues: [...byQueue.keys()] };
  });

  return {
    outboxMark: markOf,
    acceptOutbox(source, entries) {
      if (entries.length === 0) return { sent: 0, dropped: 0 };
      const { sent, dropped, queues } = accept.immediate(source, entries);
      for (const queue of queues) wake(queue);
      return { sent, dropped };
    },
  };
}
