import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, MigrationLockedError, openDatabase } from '../../src/adapters/embedded/database.ts';
import { createEmbeddedStoreProvider } from '../../src/adapters/embedded/store-provider.ts';
import type { TenantId } from '../../src/core/ids.ts';

/**
 * Opening a job database while another process (a dedicated function committing, another process migrating
 * a large file) holds its write lock longer than the busy timeout. Every open took the write lock to check
 * the schema, so it failed with a bare SQLITE_BUSY, "database is locked", a server's start included; an
 * open that had to migrate failed alike. Now a current schema opens without the lock, and a migration
 * waits for it, or fails naming the file. Real SQLite files, the lock held by a real other process.
 */
const dir = mkdtempSync(join(tmpdir(), 'silopool-migration-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const holders: ChildProcess[] = [];
afterEach(() => {
  for (const h of holders.splice(0)) h.kill('SIGKILL');
});

/** Another process takes the write lock of `path` and keeps it `holdMs`; resolves once it holds it. */
async function holdWriteLock(path: string, holdMs: number): Promise<{ released: Promise<void> }> {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(${JSON.stringify(path)});
    db.exec('BEGIN IMMEDIATE');
    db.prepare('INSERT INTO job_items (pk, sk, doc, version) VALUES (?, ?, ?, 1)').run('T#other', 'JOB#1', '{}');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); process.exit(0); }, ${holdMs});
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  holders.push(child);
  const released = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
  });
  return { released };
}

/** A database as the previous version left it: every migration but the last. */
function previousVersion(path: string): void {
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  for (const step of MIGRATIONS.slice(0, -1)) old.exec(step);
  old.pragma(`user_version = ${MIGRATIONS.length - 1}`);
  old.close();
}

describe('opening a database another process is writing', () => {
  it('opens one whose schema is current at once, without waiting for the lock', async () => {
    const path = join(dir, 'current.sqlite');
    openDatabase(path).close();
    await holdWriteLock(path, 3_000);
    const db = openDatabase(path, { busyTimeoutMs: 200 });
    try {
      expect(db.prepare('SELECT count(*) FROM job_items').pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('migrates an older one once the lock is free, however long past the busy timeout', async () => {
    const path = join(dir, 'older.sqlite');
    previousVersion(path);
    const { released } = await holdWriteLock(path, 1_500);
    const db = openDatabase(path, { busyTimeoutMs: 200 });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      // The other process's commit is kept: it finished before the migration ran.
      expect(db.prepare('SELECT count(*) FROM job_items').pluck().get()).toBe(1);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
    await released;
  });

  it('fails naming the file when the lock stays taken, and changes nothing', async () => {
    const path = join(dir, 'locked.sqlite');
    previousVersion(path);
    await holdWriteLock(path, 3_000);
    let error: unknown;
    try {
      openDatabase(path, { busyTimeoutMs: 100, migrationWaitMs: 600 }).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MigrationLockedError);
    expect(String((error as Error).message)).toContain(path);
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length - 1);
    check.close();
  });

  it("fails a dedicated store opened on a request's way after the busy timeout, as 503 migration_locked", async () => {
    // The server opens a dedicated tenant's database on the API's (or a thread's) event loop: a migration
    // waiting minutes there froze every tenant's requests. It waits the busy timeout, then the request fails.
    const dataDir = join(dir, 'data');
    const path = join(dataDir, 'tenants', 'acme', 'jobs.sqlite');
    mkdirSync(dirname(path), { recursive: true });
    previousVersion(path);
    await holdWriteLock(path, 60_000);
    const shared = openDatabase(join(dataDir, 'jobs.sqlite'));
    const provider = createEmbeddedStoreProvider(dataDir, shared);
    try {
      let error: unknown;
      try {
        provider.database({ kind: 'dedicated', tenantId: 'acme' as TenantId });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MigrationLockedError);
      expect(error).toMatchObject({ status: 503, code: 'migration_locked' });
    } finally {
      await provider.close();
      shared.close();
    }
  }, 30_000);
});
