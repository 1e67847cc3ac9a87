import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConditionFailedError } from '../../core/errors.ts';
import { parseTenantId } from '../../core/ids.ts';
import type { Operation, OperationStore, TenantEraser } from '../../ports/operation-store.ts';
import type { SqliteDatabase } from './database.ts';

/** Operations in the main database; the table is created here so the shared migrations stay untouched. */
export function createSqliteOperationStore(db: SqliteDatabase): OperationStore {
  db.exec(`CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS operations_status ON operations (status);
  CREATE INDEX IF NOT EXISTS operations_tenant ON operations (tenant_id);`);
  const stmt = {
    insert: db.prepare(
      'INSERT OR IGNORE INTO operations (id, tenant_id, status, doc, version) VALUES (?, ?, ?, ?, ?)',
    ),
    get: db.prepare<[string], { doc: string }>('SELECT doc FROM operations WHERE id = ?'),
    update: db.prepare('UPDATE operations SET status = ?, doc = ?, version = ? WHERE id = ? AND version = ?'),
    running: db.prepare<[], { doc: string }>(
      "SELECT doc FROM operations WHERE status = 'running' ORDER BY id",
    ),
    byTenant: db.prepare<[string], { doc: string }>(
      'SELECT doc FROM operations WHERE tenant_id = ? ORDER BY id',
    ),
    deleteByTenant: db.prepare('DELETE FROM operations WHERE tenant_id = ? AND id != ?'),
  };
  const parse = (row: { doc: string }) => JSON.parse(row.doc) as Operation;
  return {
    async create(op) {
      const { changes } = stmt.insert.run(op.id, op.tenantId, op.status, JSON.stringify(op), op.version);
      if (changes === 0) throw new ConditionFailedError(`Operation ${op.id} already exists.`);
    },
    async get(id) {
      const row = stmt.get.get(id);
      return row ? parse(row) : undefined;
    },
    async update(next, expectedVersion) {
      const stored: Operation = {
        ...next,
        version: expectedVersion + 1,
        updatedAt: new Date().toISOString(),
      };
      const { changes } = stmt.update.run(
        stored.status,
        JSON.stringify(stored),
        stored.version,
        stored.id,
        expectedVersion,
      );
      if (changes === 0)
        throw new ConditionFailedError(`Operation ${next.id} changed since version ${expectedVersion}.`);
      return stored;
    },
    listRunning: async () => stmt.running.all().map(parse),
    listByTenant: async (tenantId) => stmt.byTenant.all(tenantId).map(parse),
    async deleteByTenant(tenantId, except) {
      stmt.deleteByTenant.run(tenantId, except ?? '');
    },
  };
}

/** The embedded eraser: direct deletes on the shared database's tables and objects folder, keyed by the tenant. */
export function createEmbeddedTenantEraser(
  db: SqliteDatabase,
  dataDir: string,
  /** Where shared job records live when not in `db` (the embedded platform keeps them in jobs.sqlite). */
  jobsDb: SqliteDatabase = db,
): TenantEraser {
  return {
    async eraseObjectRoot(tenantId) {
      rmSync(join(dataDir, 'objects', 'tenants', parseTenantId(tenantId)), { recursive: true, force: true });
    },
    async eraseJobItems(tenantId) {
      return jobsDb.prepare('DELETE FROM job_items WHERE pk = ?').run(`T#${tenantId}`).changes;
    },
    async eraseQueueTraces(tenantId, jobIds) {
      return db
        .transaction(() => {
          let n = 0;
          for (const sql of [
            'DELETE FROM messages WHERE grp = ?',
            'DELETE FROM queue_groups WHERE grp = ?',
            'DELETE FROM group_weights WHERE grp = ?',
          ]) {
            n += db.prepare(sql).run(tenantId).changes;
          }
          const dedup = db.prepare('DELETE FROM dedup WHERE dedup_id = ?');
          for (const id of jobIds) n += dedup.run(id).changes;
          return n;
        })
        .immediate();
    },
  };
}
