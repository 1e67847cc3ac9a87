import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SilopoolError } from '../../core/errors.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../core/file-modes.ts';

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /**
   * `NORMAL` (default): in WAL mode a commit is in the OS page cache when `COMMIT` returns, so it survives
   * SIGKILL or a crash of this process (what "accepted means durable" needs), but the last commits may be
   * lost on power loss or an OS crash (the database stays consistent). That is the durability class of
   * Redis with `appendfsync everysec`. `FULL` fsyncs the WAL on every commit and also survives power loss,
   * at the price of one fsync per transaction.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /**
   * `secure_delete = ON` on this connection: what a write frees (a record's old copy when it is rewritten, an
   * object replaced, a row deleted) is zeroed. For a database of tenants' inputs and results shared by
   * tenants: a job record is rewritten as its job runs, and its old copy stayed in the free space of a page
   * other tenants' records kept in use, which an erase (`erasing`) never reaches.
   */
  secureDelete?: boolean;
  /**
   * How long an open that must migrate the schema waits for another process's write lock (a dedicated
   * function's commit, another process migrating the same large file) before it fails naming the file;
   * default 5 minutes. An open whose schema is current takes no write lock at all.
   */
  migrationWaitMs?: number;
}

/**
 * Opens (and migrates) the embedded database. Several processes open the same file at once (the API
 * server, dedicated function processes), so every setting here is about sharing it safely: WAL lets
 * readers run beside one writer, the busy timeout makes writers queue for the lock instead of failing.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
    // SQLite would create the file 0644 (less the umask), and gives its -wal and -shm the database's
    // mode: creating it 0600 first keeps all three private whatever the process's umask.
    closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  }
  return configure(new Database(path, { timeout: options.busyTimeoutMs ?? 10_000 }), options);
}

/**
 * Opens (and migrates) a database that exists, or answers undefined: never creates the file or its folder.
 * For stores only provisioning makes (a dedicated tenant's), so a late read after their removal does not
 * bring them back. A file removed while it is opened answers undefined too.
 */
export function openExistingDatabase(
  path: string,
  options: OpenDatabaseOptions = {},
): SqliteDatabase | undefined {
  if (!existsSync(path)) return undefined;
  let db: SqliteDatabase;
  try {
    // better-sqlite3 throws a TypeError for a missing folder, SQLITE_CANTOPEN for a missing file.
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 10_000, fileMustExist: true });
  } catch (error) {
    if (!existsSync(path)) return undefined;
    throw error;
  }
  try {
    return configure(db, options);
  } catch (error) {
    db.close();
    throw error;
  }
}

function configure(db: SqliteDatabase, options: OpenDatabaseOptions): SqliteDatabase {
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 10_000)}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  if (options.secureDelete) db.pragma('secure_delete = ON');
  migrate(db, options.migrationWaitMs ?? 5 * 60_000);
  return db;
}

/**
 * Runs `remove` (a DELETE) with `secure_delete` on: the deleted rows' bytes are zeroed, not left in free pages
 * for a copy of the file (a backup) to carry after offboarding or a move erased them; `FAST` would leave an
 * object kept as a row (overflow pages) as it was. Per statement, not per connection: the queue's and the
 * outbox's deletes on the hot path do not pay for it.
 */
export function erasing<T>(db: SqliteDatabase, remove: () => T): T {
  const before = db.pragma('secure_delete', { simple: true }) as number;
  if (before === 1) return remove();
  db.pragma('secure_delete = ON');
  try {
    return remove();
  } finally {
    db.pragma(`secure_delete = ${before === 2 ? 'FAST' : 'OFF'}`);
  }
}

/**
 * Copies the write-ahead log into the database and truncates it to zero bytes (`PRAGMA
 * wal_checkpoint(TRUNCATE)`), waiting (busy timeout) for writers and for readers of older snapshots. After
 * an erase: `secure_delete` zeroes the rows in the database's pages, but until then the log still holds
 * the pages as they were, the erased rows in them, for any copy of the files (a backup) to carry; and the
 * log is only overwritten, never shortened, by later commits. Throws `SqliteError` when the checkpoint
 * could not finish (the caller's step fails and is retried) rather than report bytes gone that are not.
 * Other processes' connections are waited for like this one's; the file system may keep freed blocks.
 */
export function clearWriteAheadLog(db: SqliteDatabase): void {
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as {
    busy: number;
    log: number;
    checkpointed: number;
  }[];
  if (result && result.busy !== 0) {
    throw Object.assign(
      new Error(`The write-ahead log of ${db.name} could not be cleared: the database stayed busy.`),
      {
        code: 'SQLITE_BUSY',
      },
    );
  }
}

/** Schema versions in order; `user_version` records how many have run. Append only. Exported for tests. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    visibility_timeout_ms INTEGER NOT NULL,
    max_receive_count INTEGER,
    dead_letter_queue TEXT,
    retention_ms INTEGER NOT NULL,
    -- Virtual time of fair scheduling: the start tag of the last message handed out.
    vtime REAL NOT NULL DEFAULT 0
  ) WITHOUT ROWID;

  -- seq (the rowid) is the send order. Receipt handles are seq + a random nonce, so a reused seq
  -- can never match an old handle.
  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    grp TEXT NOT NULL,
    priority INTEGER NOT NULL,
    cost REAL NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_received_at INTEGER,
    receipt TEXT
  );
  CREATE INDEX messages_claim ON messages (queue, grp, priority, seq);
  CREATE INDEX messages_visible ON messages (queue, visible_at);

  -- Per (queue, group) virtual finish time; the claim takes the smallest. Rows of idle groups are
  -- dropped once the queue's virtual time passes them (they would restart at the queue's time anyway).
  CREATE TABLE queue_groups (
    queue TEXT NOT NULL,
    grp TEXT NOT NULL,
    vtime REAL NOT NULL,
    PRIMARY KEY (queue, grp)
  ) WITHOUT ROWID;
  CREATE INDEX queue_groups_order ON queue_groups (queue, vtime, grp);

  CREATE TABLE group_weights (
    queue TEXT NOT NULL,
    grp TEXT NOT NULL,
    weight REAL NOT NULL,
    PRIMARY KEY (queue, grp)
  ) WITHOUT ROWID;

  CREATE TABLE dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
  ) WITHOUT ROWID;

  -- DynamoDB-shaped: partition key T#{tenantId}, sort key JOB#{id} or IDEM#{key}, the item as JSON.
  CREATE TABLE job_items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT,
    model TEXT,
    PRIMARY KEY (pk, sk)
  ) WITHOUT ROWID;
  CREATE INDEX job_items_status ON job_items (pk, status, sk);
  CREATE INDEX job_items_model ON job_items (pk, model, sk);

  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Claims no longer step over in-flight messages: a message is either ready (in messages_ready, where the
  // claim finds a group's head in one index probe) or waiting (in flight or delayed, in messages_waiting
  // by the time it becomes visible). Each claim first moves the waiting messages that came due.
  `
  ALTER TABLE messages ADD COLUMN ready INTEGER NOT NULL DEFAULT 0;
  DROP INDEX messages_claim;
  DROP INDEX messages_visible;
  CREATE INDEX messages_ready ON messages (queue, grp, priority, seq) WHERE ready = 1;
  CREATE INDEX messages_waiting ON messages (queue, visible_at) WHERE ready = 0;
  `,
  // Virtual times made infinite by an unbounded tenant weight (5e-324) turned fair scheduling into
  // alphabetical priority for good; weights are bounded now, and clocks already broken restart at 0.
  `
  UPDATE queues SET vtime = 0 WHERE NOT (vtime BETWEEN -1e300 AND 1e300) OR vtime IS NULL;
  UPDATE queue_groups SET vtime = 0 WHERE NOT (vtime BETWEEN -1e300 AND 1e300) OR vtime IS NULL;
  `,
  // Dead-letter moves, written in the claim that moves the message: the outbox the job settler reads.
  `
  CREATE TABLE IF NOT EXISTS dead_letter_outbox (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    moved_at INTEGER NOT NULL
  );
  `,
  // Running limits counted in the claim itself: each function thread claims on its own connection, so the
  // limit of a group (tenant) lives here, where every claiming connection reads it in its transaction.
  `
  CREATE TABLE IF NOT EXISTS group_limits (
    grp TEXT PRIMARY KEY,
    max_running INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS group_limits_paused ON group_limits (max_running) WHERE max_running <= 0;
  `,
  // Submits (issue 14): a job's message is written in the job's own commit, in the outbox of the job's
  // database, and moved into its queue after. AUTOINCREMENT: an id is never reused once the rows below a
  // queue database's mark are pruned. The identity names this file in those marks, so a tenant's database
  // made anew (demoted, promoted again) starts from no mark rather than from its predecessor's.
  `
  CREATE TABLE IF NOT EXISTS job_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS outbox_identity (k INTEGER PRIMARY KEY CHECK (k = 0), id TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS outbox_drained (
    source TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Every committed change of the tenants table, by any connection or process (the CLI included), bumps
  // one counter: what in-process tenant and API-key caches compare to drop what they hold.
  `
  CREATE TABLE IF NOT EXISTS tenant_generation (k INTEGER PRIMARY KEY CHECK (k = 0), n INTEGER NOT NULL);
  INSERT OR IGNORE INTO tenant_generation (k, n) VALUES (0, 0);
  CREATE TRIGGER IF NOT EXISTS tenants_inserted AFTER INSERT ON tenants
    BEGIN UPDATE tenant_generation SET n = n + 1 WHERE k = 0; END;
  CREATE TRIGGER IF NOT EXISTS tenants_updated AFTER UPDATE ON tenants
    BEGIN UPDATE tenant_generation SET n = n + 1 WHERE k = 0; END;
  CREATE TRIGGER IF NOT EXISTS tenants_deleted AFTER DELETE ON tenants
    BEGIN UPDATE tenant_generation SET n = n + 1 WHERE k = 0; END;
  `,
  // The usage ledger (src/adapters/embedded/usage-ledger.ts): one row per record, its id deterministic
  // from what it counts. In every job database, so a shared job's completion and its usage share a commit.
  `
  CREATE TABLE IF NOT EXISTS usage_records (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    meter TEXT NOT NULL,
    model TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    at TEXT NOT NULL,
    day TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS usage_records_tenant_day ON usage_records (tenant_id, day);
  CREATE INDEX IF NOT EXISTS usage_records_day ON usage_records (day);
  CREATE TABLE IF NOT EXISTS billing_items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
  ) WITHOUT ROWID;
  `,
  // Objects up to a size kept as BLOBs in each job database (src/adapters/embedded/sqlite-object-store.ts):
  // a rowid table, so a BLOB sits in the row's overflow pages and not in the key's index.
  `
  CREATE TABLE IF NOT EXISTS objects (
    key TEXT NOT NULL PRIMARY KEY,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL
  );
  `,
  // Job items in a rowid table (issue 14): WITHOUT ROWID keeps a row in its key's b-tree, whose cells hold
  // about 1 KB of a 4 KB page and spill the rest into overflow pages, so every rewrite of a 4-5 KB job record
  // wrote the leaf, three or four new overflow pages and (secure_delete) the freed old ones zeroed. In a
  // table b-tree a cell holds up to ~4 KB: measured 25 KB less write-ahead log and 30-45 % less CPU per job
  // for a record's insert and two updates (docs/benchmarks.md "Session 12"). SQLite's own advice is the
  // same: WITHOUT ROWID suits rows under about a twentieth of a page (https://www.sqlite.org/withoutrowid.html,
  // section 4). The key stays unique (pk, sk); the old table's pages are zeroed as it is dropped where
  // secure_delete is on (jobs.sqlite).
  `
  CREATE TABLE job_items_rows (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT,
    model TEXT,
    UNIQUE (pk, sk)
  );
  INSERT INTO job_items_rows (pk, sk, doc, version, status, model)
    SELECT pk, sk, doc, version, status, model FROM job_items ORDER BY pk, sk;
  DROP TABLE job_items;
  ALTER TABLE job_items_rows RENAME TO job_items;
  CREATE INDEX job_items_status ON job_items (pk, status, sk);
  CREATE INDEX job_items_model ON job_items (pk, model, sk);
  `,
];

const PAUSE = new Int32Array(new SharedArrayBuffer(4));
const schemaVersion = (db: SqliteDatabase) => db.pragma('user_version', { simple: true }) as number;

/** Whether the database at `path` (which exists) has an older schema than this version's: read only, no lock. */
export function needsMigration(path: string): { from: number; to: number } | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const from = schemaVersion(db);
    return from < MIGRATIONS.length ? { from, to: MIGRATIONS.length } : undefined;
  } finally {
    db.close();
  }
}

/**
 * A schema migration could not take the database's write lock in time: `503 migration_locked` where a
 * request opened the file (a dedicated tenant's store), one line and exit 1 at a server's start.
 */
export class MigrationLockedError extends SilopoolError {
  constructor(path: string, from: number, waitedMs: number, cause: unknown) {
    super(
      'migration_locked',
      503,
      `${path} must be migrated from schema ${from} to ${MIGRATIONS.length}, but another process (a dedicated function, the CLI, another server) held its write lock for ${Math.round(waitedMs / 1000)} s. Stop that process or start again once it is done; nothing was changed.`,
      { cause },
    );
  }
}

/**
 * Runs the migrations `user_version` says are missing, in one transaction (a crash leaves the schema as it
 * was). A schema already current takes no write lock: every open took one, so an open waited on any other
 * process's write (a dedicated function's commit; a migration of a large file, which holds it for as long as
 * the copy takes) and failed with a bare SQLITE_BUSY after the 10 s busy timeout, a start included. One that
 * must migrate waits for the lock up to `waitMs`, the busy timeout at a time, then fails naming the file.
 */
function migrate(db: SqliteDatabase, waitMs: number): void {
  const from = schemaVersion(db);
  if (from >= MIGRATIONS.length) return;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      // IMMEDIATE takes the write lock first, so two processes opening an old file do not both migrate;
      // the version is read again under it (the other may have migrated meanwhile).
      db.transaction(() => {
        const current = schemaVersion(db);
        for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
        if (current < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
      }).immediate();
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      const waited = Date.now() - started;
      if (waited >= waitMs) throw new MigrationLockedError(db.name, from, waited, error);
      // The busy handler waited busy_timeout already; a short pause more keeps a 0 timeout from spinning.
      Atomics.wait(PAUSE, 0, 0, 50);
      if (attempt === 1)
        process.emitWarning(
          `${db.name} waits for another process's write lock to migrate its schema (from ${from} to ${MIGRATIONS.length}).`,
        );
    }
  }
}
