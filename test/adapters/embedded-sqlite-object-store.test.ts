import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import { createFileObjectStore } from '../../src/adapters/embedded/object-store.ts';
import { createSqliteObjectStore } from '../../src/adapters/embedded/sqlite-object-store.ts';
import { StorageFullError, ValidationError } from '../../src/core/errors.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let db: SqliteDatabase;
let files: ObjectStore;
let store: ObjectStore;
let tenant: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-rows-'));
  db = openDatabase(join(dir, 'jobs.sqlite'));
  files = createFileObjectStore(join(dir, 'objects'), { blockingIo: true });
  // 64 bytes and less are rows here, so both ways are cheap to reach.
  store = createSqliteObjectStore(() => db, files, { maxRowBytes: 64 });
  tenant = randomTenantId();
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const text = (body: Uint8Array | undefined) => (body ? Buffer.from(body).toString('utf8') : undefined);
const rowKeys = () => db.prepare('SELECT key FROM objects ORDER BY key').pluck().all() as string[];
const fileCount = () =>
  existsSync(join(dir, 'objects')) ? readdirSync(join(dir, 'objects'), { recursive: true }).length : 0;

describe('the object store in SQLite', () => {
  it('keeps a small object as a row (no file, no folder) and a large one as a file (no row)', async () => {
    const small = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    const large = `tenants/${tenant}/exports/all.zip`;
    await store.put(small, Buffer.from('a workbook'), 'application/x');
    expect(rowKeys()).toEqual([small]);
    expect(fileCount()).toBe(0);
    await store.put(large, Buffer.alloc(65, 1), 'application/zip');
    expect(rowKeys()).toEqual([small]);
    expect(await files.get(large)).toMatchObject({ size: 65, contentType: 'application/zip' });
    expect(await store.get(large)).toMatchObject({ size: 65, contentType: 'application/zip' });
    expect(text((await store.get(small))?.body)).toBe('a workbook');
    // The platform's own objects (offboarding exports) stay files an operator can handle, whatever their size.
    await store.put('exports/op_1.zip', Buffer.from('zip'), 'application/zip');
    expect(rowKeys()).toEqual([small]);
    expect(text((await files.get('exports/op_1.zip'))?.body)).toBe('zip');
  });

  it('reads objects the file store wrote before it (data directories from before session 8)', async () => {
    const key = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    await files.put(key, Buffer.from('from before'), 'text/plain');
    expect(text((await store.get(key))?.body)).toBe('from before');
    expect((await store.list(`tenants/${tenant}/`)).items).toEqual([{ key, size: 11 }]);
  });

  it('serves the row where a file of the same key is left, lists the key once, and deletes both', async () => {
    const key = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    await files.put(key, Buffer.from('the stale file version'), 'text/plain');
    await store.put(key, Buffer.from('the row'), 'text/csv');
    expect(await store.get(key)).toMatchObject({ contentType: 'text/csv', size: 7 });
    expect((await store.list(`tenants/${tenant}/jobs/`)).items).toEqual([{ key, size: 7 }]);
    await store.delete(key);
    expect(await store.get(key)).toBeUndefined();
    expect(await files.get(key)).toBeUndefined();
  });

  it('a large put replaces a row of the same key, and the key reads as the new version', async () => {
    const key = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    await store.put(key, Buffer.from('small'), 'text/plain');
    await store.put(key, Buffer.alloc(100, 2), 'application/x');
    expect(rowKeys()).toEqual([]);
    expect(await store.get(key)).toMatchObject({ size: 100, contentType: 'application/x' });
  });

  it('pages through rows and files merged in key order, each key once', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 7; i++) {
      const key = `tenants/${tenant}/jobs/j${i}/workbook.xlsx`;
      keys.push(key);
      // Odd ones are large (files), even ones rows.
      await store.put(key, i % 2 ? Buffer.alloc(100, i) : Buffer.from(`row ${i}`), 'text/plain');
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list(`tenants/${tenant}/`, { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.key));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(keys);
  });

  it('keeps a prefix to its own keys (tenant a1 never sees a1-x)', async () => {
    const other = `${tenant}-x`;
    await store.put(`tenants/${other}/jobs/j1/w.xlsx`, Buffer.from('theirs'), 'text/plain');
    await store.put(`tenants/${tenant}/jobs/j1/w.xlsx`, Buffer.from('ours'), 'text/plain');
    expect((await store.list(`tenants/${tenant}/`)).items.map((i) => i.key)).toEqual([
      `tenants/${tenant}/jobs/j1/w.xlsx`,
    ]);
  });

  it('refuses unsafe keys and content types before touching the database', async () => {
    for (const key of ['../x', 'tenants/a/../b', 'a//b', '', 'a/b~c'])
      await expect(store.put(key, Buffer.from('x'), 'text/plain')).rejects.toBeInstanceOf(ValidationError);
    await expect(store.put('a/b', Buffer.from('x'), 'text/plain\r\nX: y')).rejects.toBeInstanceOf(
      ValidationError,
    );
    expect(rowKeys()).toEqual([]);
  });

  it('a delete that stops half-way leaves the current version readable, never the stale file under its row', async () => {
    const key = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    await store.put(key, Buffer.alloc(100, 1), 'application/x'); // an earlier, larger version: a file
    await store.put(key, Buffer.from('current'), 'text/plain'); // the current one: a row over that file
    // The file cannot be removed: a folder where the previous layout kept this key makes its unlink fail
    // (EISDIR), as a read-only or failing disk would.
    mkdirSync(join(dir, 'objects', 'tenants', tenant, 'jobs', 'j1', 'workbook.xlsx~o'), { recursive: true });
    await expect(store.delete(key)).rejects.toThrow();
    expect(await store.get(key)).toMatchObject({ contentType: 'text/plain', size: 7 });
    expect((await store.list(`tenants/${tenant}/`)).items).toEqual([{ key, size: 7 }]);
  });

  it('a deleted object leaves none of its bytes in the database file (offboarding erases it)', async () => {
    const rows = createSqliteObjectStore(() => db, files);
    const key = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    // A workbook-sized body (overflow pages, as real artifacts): a marker no other byte run matches.
    const marker = Buffer.from(`secret of ${tenant} `);
    await rows.put(key, Buffer.concat(Array.from({ length: 2_000 }, () => marker)), 'application/x');
    await rows.delete(key);
    expect(await rows.get(key)).toBeUndefined();
    // Closing checkpoints the WAL into the database file and removes it: the file is what a backup copies.
    db.close();
    expect(readFileSync(join(dir, 'jobs.sqlite')).includes(marker)).toBe(false);
    db = openDatabase(join(dir, 'jobs.sqlite'));
  });

  it('of a large and a small put of one key racing, a reader never sees an older version come back', async () => {
    // The large put's file store is the real one behind a gate, so the small put (a row) lands at each
    // step of the large one in turn: before its file is written, after the file is renamed into place but
    // before the large put is done with the row, and after it resolved; with and without an earlier row
    // (an earlier row hides the large file until the large put removes it; without one the file shows at
    // once). Real files and a real database.
    const real = createFileObjectStore(join(dir, 'objects'), { blockingIo: true });
    let gate: { at: 'before' | 'after'; open: Promise<void> } | undefined;
    const gated: ObjectStore = {
      ...real,
      async put(key, body, contentType) {
        if (gate?.at === 'before') await gate.open;
        await real.put(key, body, contentType);
        if (gate?.at === 'after') await gate.open;
      },
    };
    const racing = createSqliteObjectStore(() => db, gated, { maxRowBytes: 64 });
    // With an earlier row, the small put replaced that row before the large put was done with it: the small
    // one is newer, and the large put (superseded) leaves it in place.
    const cases = [
      { at: 'before', earlierRow: true },
      { at: 'after', earlierRow: true },
      { at: 'resolved', earlierRow: true },
      // Without a row the large file is the object from its rename; the small put replaces it after that,
      // so the small one is the object from then on, whenever the large put returns.
      { at: 'before', earlierRow: false },
      { at: 'after', earlierRow: false },
      { at: 'resolved', earlierRow: false },
    ] as const;
    for (const [i, { at, earlierRow }] of cases.entries()) {
      const label = `${at}, ${earlierRow ? 'with' : 'without'} an earlier row`;
      const key = `tenants/${tenant}/jobs/j${i}/workbook.xlsx`;
      // Earlier versions: a file, and (where asked) a row over it.
      await real.put(key, Buffer.alloc(80, 9), 'text/old-file');
      if (earlierRow) await racing.put(key, Buffer.from('old row'), 'text/old-row');
      // What a reader (this store, and another process's) sees at each step, in order.
      const other = createSqliteObjectStore(() => db, createFileObjectStore(join(dir, 'objects')));
      const seen: string[] = [];
      const look = async () => {
        const [mine, theirs] = [await racing.get(key), await other.get(key)];
        expect(theirs?.contentType, label).toBe(mine?.contentType);
        if (mine && seen.at(-1) !== mine.contentType) seen.push(mine.contentType);
      };
      await look();
      let open = () => {};
      gate = at === 'resolved' ? undefined : { at, open: new Promise<void>((resolve) => (open = resolve)) };
      const large = racing.put(key, Buffer.alloc(100, 1), 'text/large');
      if (at === 'resolved') await large;
      else await new Promise((resolve) => setImmediate(resolve));
      await look();
      await racing.put(key, Buffer.from('small'), 'text/small');
      await look();
      open();
      await large;
      await look();
      // Each version shows at most once, in the order written: none comes back once replaced.
      expect(new Set(seen).size, `${label}: ${seen.join(' → ')}`).toBe(seen.length);
      // The small put, the last to write the key, is the object: its row shadows the large file.
      expect(await racing.get(key), label).toMatchObject({ contentType: 'text/small', size: 5 });
      expect(seen.at(-1), label).toBe('text/small');
      expect((await racing.list(`tenants/${tenant}/jobs/j${i}/`)).items).toEqual([{ key, size: 5 }]);
      expect(rowKeys().includes(key), label).toBe(true);
      await racing.delete(key);
      expect(await other.get(key)).toBeUndefined();
    }
  });

  it('a delete while a large put is in flight, then a small put: the small one stays, never lost or resurrected', async () => {
    // The large put is held after its file is renamed into place (under the earlier row that hides it); a
    // delete then removes that file and the row, and a small put writes the key again. The small put returned
    // last: the key must read as it. The large put, done with its file, removed whatever row was there, the
    // small put's: the key read as nothing, a put that returned lost. Real files and a real database.
    const real = createFileObjectStore(join(dir, 'objects'), { blockingIo: true });
    for (const at of ['before', 'after'] as const) {
      let open = () => {};
      const held = new Promise<void>((resolve) => (open = resolve));
      const gated: ObjectStore = {
        ...real,
        async put(key, body, contentType) {
          if (at === 'before') await held;
          await real.put(key, body, contentType);
          if (at === 'after') await held;
        },
      };
      const racing = createSqliteObjectStore(() => db, gated, { maxRowBytes: 64 });
      const key = `tenants/${tenant}/jobs/j-${at}/workbook.xlsx`;
      await racing.put(key, Buffer.from('old row'), 'text/old-row');
      const large = racing.put(key, Buffer.alloc(100, 1), 'text/large');
      await new Promise((resolve) => setImmediate(resolve));
      await racing.delete(key);
      expect(await racing.get(key), at).toBeUndefined();
      await racing.put(key, Buffer.from('small'), 'text/small');
      open();
      await large;
      expect(await racing.get(key), at).toMatchObject({ contentType: 'text/small', size: 5 });
      expect((await racing.list(`tenants/${tenant}/jobs/j-${at}/`)).items, at).toEqual([{ key, size: 5 }]);
      // As another process reads it after a restart: the same.
      const reopened = createSqliteObjectStore(() => db, createFileObjectStore(join(dir, 'objects')), {
        maxRowBytes: 64,
      });
      expect(await reopened.get(key), at).toMatchObject({ contentType: 'text/small', size: 5 });
      await racing.delete(key);
      expect(await reopened.get(key), at).toBeUndefined();
    }
  });

  it('a full database is StorageFullError (SQLITE_FULL), and nothing is stored', async () => {
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const key = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    const rows = createSqliteObjectStore(() => db, files);
    // 16 KB: four pages the database may not grow by.
    const error = await rows.put(key, Buffer.alloc(16_384, 7), 'text/plain').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageFullError);
    expect((error as StorageFullError).status).toBe(507);
    db.pragma('max_page_count = 1073741823');
    expect(await store.get(key)).toBeUndefined();
  });
});
