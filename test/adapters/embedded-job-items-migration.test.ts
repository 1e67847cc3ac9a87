import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, openDatabase } from '../../src/adapters/embedded/database.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-job-items-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('job items in a rowid table (migration)', () => {
  it('keeps every item of a database made before it, and their keys stay unique', () => {
    const path = join(dir, 'jobs.sqlite');
    // A database as the version before made it: every step but the last.
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    for (const step of MIGRATIONS.slice(0, -1)) old.exec(step);
    old.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    const insert = old.prepare(
      'INSERT INTO job_items (pk, sk, doc, version, status, model) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const big = JSON.stringify({ id: 'j', text: 'x'.repeat(5000) });
    insert.run('T#a', 'JOB#1', big, 3, 'succeeded', 'finance');
    insert.run('T#a', 'IDEM#k', '{"jobId":"1"}', 1, null, null);
    insert.run('T#b', 'JOB#1', '{"id":"other"}', 1, 'queued', 'funds');
    old.close();

    const db = openDatabase(path, { secureDelete: true });
    try {
      const sql = db
        .prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'job_items'")
        .get()!;
      expect(sql.sql).not.toMatch(/WITHOUT ROWID/i);
      expect(
        db.prepare('SELECT pk, sk, doc, version, status, model FROM job_items ORDER BY pk, sk').all(),
      ).toEqual([
        { pk: 'T#a', sk: 'IDEM#k', doc: '{"jobId":"1"}', version: 1, status: null, model: null },
        { pk: 'T#a', sk: 'JOB#1', doc: big, version: 3, status: 'succeeded', model: 'finance' },
        { pk: 'T#b', sk: 'JOB#1', doc: '{"id":"other"}', version: 1, status: 'queued', model: 'funds' },
      ]);
      // The key is unique as before: a second item under it is ignored (what a submit's claim relies on).
      const again = db
        .prepare(
          'INSERT OR IGNORE INTO job_items (pk, sk, doc, version, status, model) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run('T#a', 'JOB#1', '{}', 1, 'queued', 'finance');
      expect(again.changes).toBe(0);
      expect(() =>
        db
          .prepare('INSERT INTO job_items (pk, sk, doc, version) VALUES (?, ?, ?, ?)')
          .run('T#b', 'JOB#1', '{}', 1),
      ).toThrow(/UNIQUE/);
      // The indexes the store's queries use are there again.
      const indexes = db
        .prepare<[], { name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'job_items'",
        )
        .all()
        .map((r) => r.name);
      expect(indexes).toEqual(expect.arrayContaining(['job_items_status', 'job_items_model']));
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });
});
