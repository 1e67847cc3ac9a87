import type { Statement } from 'better-sqlite3';
import type { ObjectInfo, ObjectPage, ObjectStore, StoredObject } from '../../ports/object-store.ts';
import { erasing, type SqliteDatabase } from './database.ts';
import { CONTENT_TYPE, checkKey, checkPrefix, encodeCursor, invalid, storageError } from './object-store.ts';

/**
 * Objects up to this many bytes are rows of the job database; larger ones are files. SQLite's own
 * measurement ("Internal Versus External BLOBs in SQLite", https://www.sqlite.org/intern-v-extern-blob.html)
 * finds BLOBs read faster from the database than from files up to about 100 KB at the default 4 KiB page
 * size; writes are where the file way loses most here: every file is a new inode, 0.2–0.5 ms of system time
 * on this machine's file system, against 0.1–0.2 ms for a row (docs/benchmarks.md, "Session 8: artifacts as
 * rows"). A finance workbook is 41–114 KB; larger objects stay files, so one put never holds the job
 * database's write lock for long.
 */
export const MAX_ROW_OBJECT_BYTES = 1024 * 1024;

/**
 * Only tenants' objects (`tenants/{id}/…`: job artifacts) become rows; the platform's own (offboarding
 * exports under `exports/`) stay files an operator can copy or remove by hand (docs/placement.md).
 */
const ROW_KEYS = 'tenants/';

/** Upper bound of every key that starts with a prefix: keys are ASCII, U+FFFF sorts after all of them. */
const AFTER_ALL_KEYS = '\uffff';

interface Statements {
  upsert: Statement<[number, string, string, Uint8Array]>;
  get: Statement<[string], { content_type: string; body: Buffer }>;
  rowidOf: Statement<[string], { rowid: number }>;
  list: Statement<[string, string, string, number], { key: string; size: number }>;
  delete: Statement<[string]>;
  deleteWritten: Statement<[string, number]>;
}

const prepared = new WeakMap<SqliteDatabase, Statements>();

function statements(db: SqliteDatabase): Statements {
  let s = prepared.get(db);
  if (!s) {
    s = {
      upsert: db.prepare(
        'INSERT INTO objects (rowid, key, content_type, body) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (key) DO UPDATE SET rowid = excluded.rowid, content_type = excluded.content_type, body = excluded.body',
      ),
      get: db.prepare('SELECT content_type, body FROM objects WHERE key = ?'),
      rowidOf: db.prepare('SELECT rowid FROM objects WHERE key = ?'),
      list: db.prepare(
        'SELECT key, length(body) AS size FROM objects WHERE key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?',
      ),
      delete: db.prepare('DELETE FROM objects WHERE key = ?'),
      deleteWritten: db.prepare('DELETE FROM objects WHERE key = ? AND rowid = ?'),
    };
    prepared.set(db, s);
  }
  return s;
}

/** The last rowid this process gave a row (`nextRowid`). */
let lastRowid = 0;

/**
 * A rowid for a new version of a row: a row's rowid names the put that wrote it, so a large put removes only
 * the row it found (`deleteWritten`). SQLite's own next rowid (the largest plus one) is given again to a row
 * written after the largest was deleted, which the delete-then-small-put race produces, so each put draws
 * its own: the time in ms × 1024 plus 10 random bits, above every one this process drew before (never the
 * same twice here; another process's put of the same millisecond collides 1 in 1,024 and the primary key
 * refuses it). Time-ordered ids append to the table's b-tree: random ones over 48 bits cost 0.04–0.11
 * core-ms more a put (docs/benchmarks.md, "Session 17"). Safe integers until the year 2248.
 */
function nextRowid(): number {
  lastRowid = Math.max(Date.now() * 1024 + Math.floor(Math.random() * 1024), lastRowid + 1);
  return lastRowid;
}

/** Writes the row of `key` under a rowid of its own (`nextRowid`), in one statement; a taken rowid is drawn again. */
function replaceRow(s: Statements, key: string, contentType: string, body: Uint8Array) {
  for (let attempt = 1; ; attempt++) {
    try {
      s.upsert.run(nextRowid(), key, contentType, body);
      return;
    } catch (error) {
      if (attempt >= 3 || (error as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error;
    }
  }
}

/**
 * The row of a put of `key` as a synchronous write on a job database, for a transaction of the caller's
 * (a job's outcome with its workbook: store-provider.ts), or undefined where the object is a file (over
 * `maxRowBytes`, or not a tenant's): store that one with `put` first. Checks the key and content type now
 * (`ValidationError`); the write throws `StorageFullError` on a full disk, which rolls the transaction back.
 */
export function objectRowWrite(
  key: string,
  body: Uint8Array,
  contentType: string,
  maxRowBytes = MAX_ROW_OBJECT_BYTES,
): ((db: SqliteDatabase) => void) | undefined {
  checkKey(key);
  if (!CONTENT_TYPE.test(contentType))
    throw invalid('/contentType', 'must be 1-254 printable ASCII characters');
  if (body.byteLength > maxRowBytes || !key.startsWith(ROW_KEYS)) return undefined;
  return (db) => {
    try {
      replaceRow(statements(db), key, contentType, body);
    } catch (error) {
      throw storageError(error, key);
    }
  };
}

/**
 * The embedded object store: S3 semantics (`ObjectStore`) over the `objects` table of a job database
 * for tenants' objects up to `maxRowBytes`, and `files` (the file object store, object-store.ts) for larger ones
 * and for every object written before this store existed. A row is the object of its key wherever a
 * file of the same key also is: `get` reads the row first, `list` merges both in key order with the row's
 * size, `delete` removes the file, then the row; a large put stores its file, then removes the row that was
 * there before it unless a later put or a delete replaced that row meanwhile (a crash in between either
 * leaves the version that was current readable, never a stale one, never none). So each put becomes the
 * object at one moment (a small one when its row is written, a large one at its rename or, under an
 * earlier row, when that row goes; a large put whose earlier row another put replaced first is superseded
 * by it, its file hidden until the key's next put or delete), and of puts and deletes of one key racing, a
 * version a reader has seen replaced never comes back and a put that returned is never lost to an older one.
 *
 * `db` is called for every operation (a dedicated tenant's connection is closed when idle and reopened;
 * store-provider.ts); each statement is one SQLite transaction, durable as the database's `synchronous`
 * setting says (`NORMAL`: survives a process kill; `FULL`: power loss). A full disk (`SQLITE_FULL`)
 * throws `StorageFullError`, as the file store does; invalid keys throw `ValidationError`.
 */
export function createSqliteObjectStore(
  db: () => SqliteDatabase,
  files: ObjectStore,
  options: { maxRowBytes?: number } = {},
): ObjectStore {
  const maxRowBytes = options.maxRowBytes ?? MAX_ROW_OBJECT_BYTES;
  const run = <T>(key: string, fn: (s: Statements, on: SqliteDatabase) => T): T => {
    try {
      const on = db();
      return fn(statements(on), on);
    } catch (error) {
      throw storageError(error, key);
    }
  };
  return {
    async put(key, body, contentType) {
      const row = objectRowWrite(key, body, contentType, maxRowBytes);
      if (!row) {
        // Only the row that was there before the file is removed, and only that one (by the put that wrote
        // it). That row hides the new file until it goes, so the file becomes the object at that one moment.
        // A row written after it (a small put racing this one) is newer, whether or not the earlier row was
        // there to hide the file: removing it would bring the file back to readers who had seen the row's
        // version replace it, or, where a delete took the file meanwhile, lose the newer put altogether.
        const earlier = run(key, (s) => s.rowidOf.get(key));
        await files.put(key, body, contentType);
        if (earlier) run(key, (s) => s.deleteWritten.run(key, earlier.rowid));
        return;
      }
      // A file of this key (a larger version, or one the file store wrote before this store existed) is
      // left for `delete`: the row shadows it for `get` and `list`, and looking for it would cost every put
      // two failed file lookups (job artifacts are written once per key).
      run(key, (_s, on) => row(on));
    },

    async get(key): Promise<StoredObject | undefined> {
      checkKey(key);
      const row = run(key, (s) => s.get.get(key));
      if (!row) return files.get(key);
      const body = new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength);
      return { body, contentType: row.content_type, size: body.byteLength };
    },

    async list(prefix, options = {}): Promise<ObjectPage> {
      checkPrefix(prefix);
      const limit = Math.max(1, Math.min(1000, Math.trunc(options.limit ?? 1000)));
      // The cursor is only a lower bound; the prefix still applies, so a forged one reaches nothing new.
      const after = options.cursor ? Buffer.from(options.cursor, 'base64url').toString('utf8') : '';
      const rows = run(prefix, (s) => s.list.all(prefix, prefix + AFTER_ALL_KEYS, after, limit + 1));
      const filePage = await files.list(prefix, options);
      // Both are in key order after `after`; of a key in both, the row is the object.
      const byKey = new Map<string, ObjectInfo>();
      for (const item of filePage.items) byKey.set(item.key, item);
      for (const row of rows) byKey.set(row.key, { key: row.key, size: row.size });
      const merged = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const items = merged.slice(0, limit);
      const last = items.at(-1);
      const more =
        last !== undefined &&
        (merged.length > limit || rows.length > limit || filePage.nextCursor !== undefined);
      return { items, ...(more ? { nextCursor: encodeCursor(last.key) } : {}) };
    },

    async delete(key) {
      checkKey(key);
      // The file first: where a row shadows a file of the key (an earlier, larger version), a delete that
      // stops in between (a failed unlink, a killed process) must leave the row, the current version, and
      // never the stale file as the object (the file store removes its previous layout's copy first alike).
      await files.delete(key);
      // Zeroed, not left in the database file's free pages (offboarding and moves delete through here).
      run(key, (s, on) => erasing(on, () => s.delete.run(key)));
    },
  };
}
