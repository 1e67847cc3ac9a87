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
