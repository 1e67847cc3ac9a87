import type { SqliteDatabase } from './database.ts';

/**
 * The queue's tables (every file has them: one schema for all). Up to issue 14's session 6 the queues
 * lived in `silopool.sqlite`; they live in `jobs.sqlite` now, beside the shared tenants' jobs, so a shared
 * submit writes its job and its message in one transaction.
 */
const QUEUE_TABLES = [
  'queues',
  'messages',
  'queue_groups',
  'group_weights',
  'dedup',
  'dead_letter_outbox',
  'group_limits',
] as const;

/**
 * Moves what a data directory's earlier layout kept in `from` (`silopool.sqlite`) into `to` (`jobs.sqlite`):
 * queues, their messages (seq and receive counts kept), fair-scheduling state, dedup ids, unsettled
 * dead-letter moves, running limits and the outbox marks. Called where the embedded platform opens its
 * files, before any queue is used; a no-op (one read) once `from` holds none of it.
 * Crash-safe without a transaction across the two files (in WAL mode SQLite commits attached files one by
 * one): the copy commits first, ignoring rows `to` already holds (keys kept), then `from` is emptied; a
 * crash between the two copies nothing twice on the next open and empties `from` then.
 * @returns how many rows were copied (0 when there was nothing to move).
 */
export function moveQueueTables(from: SqliteDatabase, to: SqliteDatabase): number {
  const any = QUEUE_TABLES.concat(['outbox_drained' as never])
    .map((t) => `EXISTS (SELECT 1 FROM ${t})`)
    .join(' OR ');
  if (!(from.prepare(`SELECT ${any} AS n`).get() as { n: number }).n) return 0;
  to.prepare('ATTACH DATABASE ? AS earlier').run(from.name);
  let copied = 0;
  try {
    to.transaction(() => {
      for (const table of QUEUE_TABLES) {
        copied += to
          .prepare(`INSERT OR IGNORE INTO main.${table} SELECT * FROM earlier.${table}`)
          .run().changes;
      }
      copied += to
        .prepare(
          `INSERT INTO main.outbox_drained SELECT * FROM earlier.outbox_drained WHERE true
           ON CONFLICT (source) DO UPDATE SET last_id = max(last_id, excluded.last_id)`,
        )
        .run().changes;
    }).immediate();
  } finally {
    to.exec('DETACH DATABASE earlier');
  }
  from
    .transaction(() => {
      for (const table of [...QUEUE_TABLES, 'outbox_drained']) from.exec(`DELETE FROM ${table}`);
    })
    .immediate();
  return copied;
}
