import { existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConditionFailedError } from '../../core/errors.ts';
import { parseTenantId } from '../../core/ids.ts';
import { countTenantSpans, eraseTenantSpans, TRACES_FILE } from '../../observability/span-store.ts';
import type { Operation, OperationStore, TenantEraser } from '../../ports/operation-store.ts';
import { clearWriteAheadLog, erasing, type SqliteDatabase } from './database.ts';
import { ensureMetricsHistoryTable } from './metrics-history.ts';

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
    deleteByTenant: db.prepare(
      'DELETE FROM operations WHERE tenant_id = ? AND id NOT IN (SELECT value FROM json_each(?))',
    ),
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
      stmt.deleteByTenant.run(
        tenantId,
        JSON.stringify(typeof except === 'string' ? [except] : (except ?? [])),
      );
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
  ensureMetricsHistoryTable(db);
  return {
    async eraseObjectRoot(tenantId) {
      const id = parseTenantId(tenantId);
      // Objects kept as rows of the shared job database (sqlite-object-store.ts), then the larger ones' files.
      erasing(jobsDb, () =>
        jobsDb.prepare('DELETE FROM objects WHERE key >= ? AND key < ?').run(...objectKeyRange(id)),
      );
      clearWriteAheadLog(jobsDb);
      rmSync(join(dataDir, 'objects', 'tenants', id), { recursive: true, force: true });
    },
    async eraseJobItems(tenantId) {
      const { changes } = erasing(jobsDb, () =>
        jobsDb.prepare('DELETE FROM job_items WHERE pk = ?').run(`T#${tenantId}`),
      );
      clearWriteAheadLog(jobsDb);
      return changes;
    },
    async eraseQueueTraces(tenantId, jobIds) {
      const ids = JSON.stringify(jobIds);
      return (
        db
          .transaction(() => {
            let n = 0;
            for (const sql of [
              'DELETE FROM messages WHERE grp = ?',
              'DELETE FROM queue_groups WHERE grp = ?',
              'DELETE FROM group_weights WHERE grp = ?',
              'DELETE FROM metrics_history WHERE scope = ?',
              'DELETE FROM group_limits WHERE grp = ?',
              `DELETE FROM dead_letter_outbox WHERE ${OUTBOX_OF_TENANT}`,
            ]) {
              n += db.prepare(sql).run(tenantId).changes;
            }
            n += db.prepare(`DELETE FROM dedup WHERE ${DEDUP_OF_JOBS}`).run(ids, ids, ids).changes;
            return n;
          })
          // The tenant's spans in the shared span file go too (a dedicated tenant's own go with its folder).
          .immediate() + eraseTenantSpans(join(dataDir, TRACES_FILE), tenantId)
      );
    },
    async eraseRecordTraces() {
      // The tenant record's earlier versions are page images in silopool.sqlite's write-ahead log.
      clearWriteAheadLog(db);
    },
    async findRemains(tenantId, jobIds) {
      const ids = JSON.stringify(jobIds);
      const count = (on: SqliteDatabase, sql: string, ...args: string[]) =>
        (on.prepare(`SELECT count(*) AS n FROM ${sql}`).get(...args) as { n: number }).n;
      const queuePrefix = `tenant_${tenantId}_`;
      const counts: [string, number][] = [
        ['job items', count(jobsDb, 'job_items WHERE pk = ?', `T#${tenantId}`)],
        ['objects', count(jobsDb, 'objects WHERE key >= ? AND key < ?', ...objectKeyRange(tenantId))],
        ['messages', count(db, 'messages WHERE grp = ?', tenantId)],
        ['scheduling rows', count(db, 'queue_groups WHERE grp = ?', tenantId)],
        ['scheduling weights', count(db, 'group_weights WHERE grp = ?', tenantId)],
        ['metrics history points', count(db, 'metrics_history WHERE scope = ?', tenantId)],
        ['running limits', count(db, 'group_limits WHERE grp = ?', tenantId)],
        ['dead-letter outbox rows', count(db, `dead_letter_outbox WHERE ${OUTBOX_OF_TENANT}`, tenantId)],
        ['dedup ids', count(db, `dedup WHERE ${DEDUP_OF_JOBS}`, ids, ids, ids)],
        ['trace spans', countTenantSpans(join(dataDir, TRACES_FILE), tenantId)],
        [
          'dedicated queues',
          count(db, 'queues WHERE substr(name, 1, length(?)) = ?', queuePrefix, queuePrefix),
        ],
      ];
      const found = counts.filter(([, n]) => n > 0).map(([what, n]) => `${n} ${what}`);
      const id = parseTenantId(tenantId);
      for (const dir of [join(dataDir, 'objects', 'tenants', id), join(dataDir, 'tenants', id)])
        if (existsSync(dir)) found.push(`folder ${relative(dataDir, dir)}`);
      return found;
    },
  };
}

/** The keys of a tenant's objects: `tenants/{id}/` up to the next possible prefix (`/` + 1 is `0`). */
function objectKeyRange(tenantId: string): [string, string] {
  const id = parseTenantId(tenantId);
  return [`tenants/${id}/`, `tenants/${id}0`];
}

/** Dead letters not yet settled whose message names the tenant (job and webhook messages both carry it). */
const OUTBOX_OF_TENANT = "json_valid(body) AND json_extract(body, '$.tenantId') = ?";

/**
 * Dedup ids of the tenant's jobs (a JSON array, three times): the job id (job messages), `{jobId}:{status}`
 * (webhooks) or `n:{jobId}:…` (user notifications: the announcement and each delivery).
 */
const DEDUP_OF_JOBS = `dedup_id IN (SELECT value FROM json_each(?))
  OR (instr(dedup_id, ':') > 1 AND substr(dedup_id, 1, instr(dedup_id, ':') - 1) IN (SELECT value FROM json_each(?)))
  OR (substr(dedup_id, 1, 2) = 'n:' AND instr(substr(dedup_id, 3), ':') > 1
      AND substr(dedup_id, 3, instr(substr(dedup_id, 3), ':') - 1) IN (SELECT value FROM json_each(?)))`;
