import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import { createFileObjectStore } from '../../src/adapters/embedded/object-store.ts';
import { createSqliteObjectStore } from '../../src/adapters/embedded/sqlite-object-store.ts';
import { ValidationError } from '../../src/core/errors.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { randomTenantId } from '../contract/fixtures.ts';

/**
 * A key's segments become file and folder names (object-store.ts), and a file system takes names of at
 * most 255 bytes (NAME_MAX): a longer one is a bad key like any other (ValidationError, a 400 wherever it
 * came from), never the file system's ENAMETOOLONG (a 500), and never a key that stores while its body is
 * small (a row) and fails once it is large (a file).
 */
let dir: string;
let db: SqliteDatabase;
let tenant: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-names-'));
  db = openDatabase(join(dir, 'jobs.sqlite'));
  tenant = randomTenantId();
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const x = (n: number) => 'x'.repeat(n);
const stores: [string, () => ObjectStore][] = [
  ['file store (thread pool)', () => createFileObjectStore(join(dir, 'a'))],
  ['file store (blocking)', () => createFileObjectStore(join(dir, 'b'), { blockingIo: true })],
  [
    'SQLite store',
    () => createSqliteObjectStore(() => db, createFileObjectStore(join(dir, 'c')), { maxRowBytes: 64 }),
  ],
];

describe.each(stores)('the %s and names longer than the file system takes', (_, make) => {
  /** Keys whose file or folder name is 256 bytes, and the same keys one byte shorter (255: the most). */
  const cases = () => [
    // A short key's last segment is its file name with `~o`.
    { tooLong: `exports/${x(254)}`, longest: `exports/${x(253)}` },
    { tooLong: `tenants/${tenant}/${x(254)}`, longest: `tenants/${tenant}/${x(253)}` },
    // A folder segment is its folder's name.
    { tooLong: `${x(256)}/a`, longest: `${x(255)}/a` },
    { tooLong: `tenants/${tenant}/${x(256)}/j/w`, longest: `tenants/${tenant}/${x(255)}/j/w` },
    // A long key joins its last two segments in one file name (`j~w~o`).
    {
      tooLong: `tenants/${tenant}/jobs/${x(126)}/${x(127)}`,
      longest: `tenants/${tenant}/jobs/${x(126)}/${x(126)}`,
    },
    { tooLong: `tenants/${tenant}/jobs/j/${x(252)}`, longest: `tenants/${tenant}/jobs/j/${x(251)}` },
  ];

  it('refuses such a key on put, small body or large, as it refuses any bad key', async () => {
    const store = make();
    for (const { tooLong } of cases()) {
      for (const body of [Buffer.from('small'), Buffer.alloc(100, 1)]) {
        const put = store.put(tooLong, body, 'text/plain');
        await expect(put, `${tooLong.length} (${body.length} bytes)`).rejects.toBeInstanceOf(ValidationError);
        await expect(put).rejects.toThrow(/255 bytes/);
      }
    }
  });

  it('refuses it on get, delete and as a list prefix too, with the same error', async () => {
    const store = make();
    for (const { tooLong } of cases()) {
      await expect(store.get(tooLong)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.delete(tooLong)).rejects.toBeInstanceOf(ValidationError);
    }
    // A prefix whose complete segment no folder can be named: the walk would meet ENAMETOOLONG.
    await expect(store.list(`${x(256)}/`)).rejects.toBeInstanceOf(ValidationError);
    await expect(store.list(`tenants/${tenant}/${x(256)}/`)).rejects.toBeInstanceOf(ValidationError);
  });

  it('stores, reads, lists and deletes the longest names the file system takes', async () => {
    const store = make();
    for (const { longest } of cases()) {
      for (const body of [Buffer.from('small'), Buffer.alloc(100, 1)]) {
        await store.put(longest, body, 'text/plain');
        expect((await store.get(longest))?.size, longest).toBe(body.length);
        const prefix = longest.slice(0, longest.lastIndexOf('/') + 1);
        expect((await store.list(prefix)).items).toContainEqual({ key: longest, size: body.length });
        await store.delete(longest);
        expect(await store.get(longest)).toBeUndefined();
      }
    }
    // A prefix cut anywhere in a long key still lists it: `jobs/{126 x}/` names no folder of its own.
    const key = `tenants/${tenant}/jobs/${x(126)}/${x(126)}`;
    await store.put(key, Buffer.from('one'), 'text/plain');
    expect((await store.list(`tenants/${tenant}/jobs/${x(126)}/`)).items).toEqual([{ key, size: 3 }]);
    expect((await store.list(`tenants/${tenant}/jobs/${x(250)}`)).items).toEqual([]);
  });
});
