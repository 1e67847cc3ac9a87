import { randomBytes } from 'node:crypto';
import { ForbiddenError, UnavailableError } from '../../core/errors.ts';
import { recordRoutingFor, type StoreRef } from '../../core/placement.ts';
import type { JobIntake, JobSubmission, SubmitOutcome } from '../../ports/job-intake.ts';
import { createSequencedJobIntake } from '../../ports/job-intake-sequence.ts';
import type { IdempotencyRecord } from '../../ports/job-store.ts';
import type { SqliteDatabase } from './database.ts';
import { jobItemKeys } from './job-store.ts';
import type { SqliteMessageQueue } from './message-queue.ts';
import type { OutboxEntry } from './message-queue-outbox.ts';
import type { EmbeddedStoreProvider } from './store-provider.ts';

/** Outbox rows moved onto the queues per queue transaction. */
const DRAIN_BATCH = 500;
/** After a failed move onto the queues (the queue file locked past its busy timeout, a full disk), ms. */
const DRAIN_RETRY_MS = 1000;

interface Pending {
  submission: JobSubmission;
  resolve(outcome: SubmitOutcome): void;
  reject(error: unknown): void;
}

/** One job database: its identity in the queue's marks, its statements, and what waits to be written. */
interface Source {
  db: SqliteDatabase;
  /** Whose database this is: a dedicated tenant's closes when idle and is opened again through its ref. */
  ref: StoreRef;
  identity: string;
  pending: Pending[];
  commit(items: Pending[]): (SubmitOutcome | Error)[];
  /** The outbox rows the last `commit` wrote, in id order (read by the drain that follows it, then cleared). */
  written: OutboxEntry[];
  readOutbox(after: number): OutboxEntry[];
  /** Deletes the outbox rows up to `upTo` (they are on the queues). */
  prune(upTo: number): void;
  drainScheduled: boolean;
  /** A commit ran in this event-loop turn already: more submits in it wait for its end, together. */
  committedThisTurn: boolean;
}

export interface SqliteJobIntake extends JobIntake {
  /** Moves every job database's outbox onto the queues (at start: what a crash left between the two). */
  drainAll(): void;
  /** Commits what waits, moves it onto the queues, and stops: before the databases close. */
  close(): void;
}

/** Thrown inside a submit's savepoint when the job id exists, to undo that submit's key claim with it. */
class JobExists extends Error {}

/**
 * The embedded submit: the job record, its Idempotency-Key and its message (an outbox row) in ONE SQLite
 * transaction of the job's own database (shared `jobs.sqlite` or a dedicated tenant's), then the outbox
 * moved onto the queues (`silopool.sqlite`) in a second transaction that also records how far it got, and
 * the moved rows deleted; the submits resolve after that.
 * Group commit without delaying a lone submit: the first submit of an event-loop turn commits at once;
 * the others of that turn share one transaction at its end (`setImmediate`, never a timer). During a
 * placement move a tenant's keys live in two files, so its submits take the sequence
 * (`createSequencedJobIntake`) until the move ends.
 */
export function createSqliteJobIntake(deps: {
  stores: EmbeddedStoreProvider;
  queue: SqliteMessageQueue;
  /** Failed moves onto the queues (retried); default: none reported. */
  onError?(error: unknown): void;
}): SqliteJobIntake {
  const sequenced = createSequencedJobIntake(deps);
  const sources = new Map<SqliteDatabase, Source>();
  let closed = false;

  const sourceOf = (ref: StoreRef): Source => {
    const db = deps.stores.database(ref);
    let source = sources.get(db);
    if (!source) {
      // A dedicated tenant's database closed when its stores were destroyed: forget it.
      for (const old of sources.keys()) if (!old.open) sources.delete(old);
      source = openSource(db, ref);
      sources.set(db, source);
    }
    return source;
  };

  const flush = (source: Source): void => {
    const items = source.pending;
    source.pending = [];
    let outcomes: (SubmitOutcome | Error)[];
    try {
      outcomes = source.commit(items);
    } catch (error) {
      for (const item of items) item.reject(error);
      return;
    }
    // The jobs are durable now; their messages go onto the queue before the submits resolve, so a submit
    // that resolved is on its queue (what admission counts). A move that fails is retried: the submits
    // are accepted all the same, their messages are safe in the outbox.
    drain(source);
    items.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome instanceof Error) item.reject(outcome);
      else item.resolve(outcome);
    });
  };

  const drain = (source: Source): void => {
    // What the commit just wrote is the outbox above the mark, unless rows wait below it (a failed move, or
    // another process's commit): then the outbox is read from the mark. Moving an entry twice is harmless
    // either way (acceptOutbox skips what its mark passed), and no entry is passed over: the mark moves
    // only to the last entry moved.
    let written = source.written;
    source.written = [];
    if (closed) return;
    if (!source.db.open) {
      // Closed since this drain was scheduled (a retry's, in the next turn: a dedicated tenant's idle
      // connection, store-provider.ts): its outbox still waits, so the retry goes on, on a connection
      // opened anew. Returning here left a refused move's messages in the outbox for good (a CI run under
      // load: the retry found the connection open, the idle sweep closed it before the drain ran).
      setTimeout(() => retryDrain(source), DRAIN_RETRY_MS).unref();
      return;
    }
    try {
      let mark = deps.queue.outboxMark(source.identity);
      for (;;) {
        const entries = written[0]?.id === mark + 1 ? written : source.readOutbox(mark);
        written = [];
        if (entries.length > 0) {
          deps.queue.acceptOutbox(source.identity, entries);
          mark = Math.max(mark, entries.at(-1)!.id);
        }
        // Rows on the queues go at once: an outbox row names its tenant, and an offboarded tenant leaves
        // nothing behind. A prune lost to a crash is redone by the next one (everything up to the mark).
        source.prune(mark);
        if (entries.length < DRAIN_BATCH) return;
      }
    } catch (error) {
      deps.onError?.(error);
      setTimeout(() => retryDrain(source), DRAIN_RETRY_MS).unref();
    }
  };

  /**
   * A failed move tried again: on the same connection while it is open, else on the tenant's database
   * opened anew (a dedicated tenant's closes when idle, store-provider.ts) — unless the tenant's stores
   * were destroyed meanwhile, which took its outbox with them.
   */
  const retryDrain = (source: Source): void => {
    if (closed) return;
    if (source.db.open) {
      scheduleDrain(source);
      return;
    }
    // Only a dedicated tenant's database closes before the intake does (the shared one is the platform's).
    const { ref } = source;
    if (ref.kind !== 'dedicated') return;
    const onDisk = deps.stores
      .refsOnDisk()
      .some((r) => r.kind === 'dedicated' && r.tenantId === ref.tenantId);
    if (onDisk) scheduleDrain(sourceOf(ref));
  };

  const scheduleDrain = (source: Source): void => {
    if (source.drainScheduled) return;
    source.drainScheduled = true;
    // A retry of a failed move, off the submit path: the submits it carries were answered already.
    setImmediate(() => {
      source.drainScheduled = false;
      drain(source);
    });
  };

  return {
    async submit(tenant, submission) {
      if (submission.job.tenantId !== tenant.id)
        throw new ForbiddenError(`Job ${submission.job.id} does not belong to tenant ${tenant.id}.`);
      const routing = recordRoutingFor(tenant);
      if (routing.keys.length > 1) return sequenced.submit(tenant, submission);
      if (closed) throw new UnavailableError('The server is shutting down; try again.');
      const source = sourceOf(routing.create);
      return new Promise<SubmitOutcome>((resolve, reject) => {
        source.pending.push({ submission, resolve, reject });
        if (source.pending.length > 1) return;
        if (!source.committedThisTurn) {
          // The first submit of a turn commits at once: a lone submit never waits for company.
          source.committedThisTurn = true;
          setImmediate(() => {
            source.committedThisTurn = false;
          });
          flush(source);
        } else {
          // Another in the same turn: it and those after it share one commit at the end of the turn.
          setImmediate(() => flush(source));
        }
      });
    },
    requeue: (tenant, queue, message) => sequenced.requeue(tenant, queue, message),
    drainAll() {
      for (const ref of deps.stores.refsOnDisk()) {
        drain(sourceOf(ref));
      }
    },
    close() {
      for (const source of sources.values()) {
        if (!source.db.open) continue;
        if (source.pending.length > 0) flush(source);
        drain(source);
      }
      closed = true;
    },
  };
}

function openSource(db: SqliteDatabase, ref: StoreRef): Source {
  db.prepare('INSERT OR IGNORE INTO outbox_identity (k, id) VALUES (0, ?)').run(
    randomBytes(12).toString('hex'),
  );
  const identity = db.prepare<[], { id: string }>('SELECT id FROM outbox_identity WHERE k = 0').get()!.id;
  const stmt = {
    insertItem: db.prepare(
      'INSERT OR IGNORE INTO job_items (pk, sk, doc, version, status, model) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    getItem: db.prepare<[string, string], { doc: string }>(
      'SELECT doc FROM job_items WHERE pk = ? AND sk = ?',
    ),
    insertOutbox: db.prepare('INSERT INTO job_outbox (queue, message) VALUES (?, ?)'),
    readOutbox: db.prepare<[number, number], { id: number; queue: string; message: string }>(
      'SELECT id, queue, message FROM job_outbox WHERE id > ? ORDER BY id LIMIT ?',
    ),
    prune: db.prepare('DELETE FROM job_outbox WHERE id <= ?'),
  };

  // A savepoint per submit: one that fails (another tenant's job, a taken id) leaves the others' writes.
  const writeOne = db.transaction(({ job, idempotency, queue, message }: JobSubmission): SubmitOutcome => {
    const pk = jobItemKeys.partition(job.tenantId);
    if (idempotency) {
      const sk = jobItemKeys.idempotencyKey(idempotency.key);
      const claimed = stmt.insertItem.run(pk, sk, JSON.stringify(idempotency), 1, null, null).changes > 0;
      if (!claimed) {
        const existing = JSON.parse(stmt.getItem.get(pk, sk)!.doc) as IdempotencyRecord;
        if (existing.jobId !== job.id) return { kind: 'key-taken', existing };
      }
    }
    const row = [pk, jobItemKeys.job(job.id), JSON.stringify(job), job.version, job.status, job.model];
    if (stmt.insertItem.run(...row).changes === 0) throw new JobExists();
    const { lastInsertRowid } = stmt.insertOutbox.run(queue, JSON.stringify(message));
    source.written.push({ id: Number(lastInsertRowid), queue, message });
    return { kind: 'created' };
  });

  const source: Source = {
    db,
    ref,
    identity,
    pending: [],
    written: [],
    prune: (upTo) => {
      stmt.prune.run(upTo);
    },
    drainScheduled: false,
    committedThisTurn: false,
    commit: (items) => {
      source.written = [];
      try {
        return commitAll.immediate(items);
      } catch (error) {
        // Rolled back: the rows recorded inside it were never committed.
        source.written = [];
        throw error;
      }
    },
    readOutbox: (after) =>
      stmt.readOutbox.all(after, DRAIN_BATCH).map((r) => ({
        id: r.id,
        queue: r.queue,
        message: JSON.parse(r.message) as OutboxEntry['message'],
      })),
  };
  const commitAll = db.transaction((items: Pending[]): (SubmitOutcome | Error)[] => {
    return items.map((item) => {
      try {
        return writeOne(item.submission);
      } catch (error) {
        // SQLite rolled back the whole transaction, not only this submit's savepoint (SQLITE_FULL, IOERR or
        // NOMEM may): the submits before it are gone, and one after it would run in a transaction of its
        // own, committed while this commit fails. The commit fails here, every submit of it with it.
        if (!db.inTransaction) throw error;
        if (error instanceof JobExists) return { kind: 'job-exists' };
        return error instanceof Error ? error : new Error(String(error));
      }
    });
  });
  return source;
}
