import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteTenantDirectory } from '../../src/adapters/embedded/tenant-directory.ts';
import { LONGEST_TURN_MS } from '../../src/adapters/embedded/turn-memo.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';

// The directory reads the tenants table's change counter at most once per event-loop turn (issue 14).
// Each check here runs inside one turn (only awaits of settled promises) unless it waits for the next one.
let dir: string;
let db: SqliteDatabase;
let other: SqliteDatabase;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-directory-cache-'));
  db = openDatabase(join(dir, 'silopool.sqlite'));
  other = openDatabase(join(dir, 'silopool.sqlite'));
});
afterEach(() => {
  other.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the embedded tenant directory’s cached records', () => {
  it('follow a write through any directory on the same connection within the same turn', async () => {
    const reader = createSqliteTenantDirectory(db);
    const writer = createSqliteTenantDirectory(db);
    const id = randomTenantId();
    await writer.create(makeTenant(id));
    const before = await reader.get(id);
    expect(before?.status).toBe('active');
    await writer.update({ ...before!, status: 'suspended' }, before!.version);
    expect((await reader.get(id))?.status).toBe('suspended');
    await writer.delete(id);
    expect(await reader.get(id)).toBeUndefined();
  });

  it('follow a write through another connection (another process) from the next turn on', async () => {
    const reader = createSqliteTenantDirectory(db);
    const elsewhere = createSqliteTenantDirectory(other);
    const id = randomTenantId();
    await elsewhere.create(makeTenant(id));
    await nextTurn();
    const before = await reader.get(id);
    expect(before?.status).toBe('active');
    await elsewhere.update({ ...before!, status: 'suspended' }, before!.version);
    await nextTurn();
    expect((await reader.get(id))?.status).toBe('suspended');
  });

  it('follow a write through another connection within a long turn, once LONGEST_TURN_MS has passed', async () => {
    // A function thread draining a backlog can run job after job in one turn (turn-memo.ts): a suspension
    // committed by the server must still reach the jobs it starts later in that turn.
    const reader = createSqliteTenantDirectory(db);
    const elsewhere = createSqliteTenantDirectory(other);
    const id = randomTenantId();
    await elsewhere.create(makeTenant(id));
    await nextTurn();
    const before = await reader.get(id);
    expect(before?.status).toBe('active');
    await elsewhere.update({ ...before!, status: 'suspended' }, before!.version);
    // Still this turn (only awaits of settled promises and a busy wait since the read).
    const until = Date.now() + LONGEST_TURN_MS + 20;
    while (Date.now() < until) await Promise.resolve();
    expect((await reader.get(id))?.status).toBe('suspended');
  });
});
