import { ConditionFailedError, ForbiddenError } from '../../core/errors.ts';
import { type JobId, parseTenantId, type TenantId } from '../../core/ids.ts';
import type { JobRecord } from '../../core/job.ts';
import { decodePageCursor, encodePageCursor } from '../../core/page-cursor.ts';
import {
  type IdempotencyRecord,
  type JobPage,
  type JobStore,
  jobListOf,
  type ListJobsQuery,
  type TenantJobStore,
} from '../../ports/job-store.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import { erasing, type SqliteDatabase } from './database.ts';
import { type AlongsideWrite, meterCompletion } from './meter-completion.ts';
import type { SqliteUsageLedger } from './usage-ledger.ts';

const JOB = 'JOB#';
/** Upper bound of the JOB# range: `$` is the character after `#`. */
const JOB_END = 'JOB$';
const IDEM = 'IDEM#';

/** The keys of a tenant's items in `job_items`, for writers outside this store (the submit's one commit). */
export const jobItemKeys = {
  partition: (tenantId: TenantId) => `T#${tenantId}`,
  job: (id: JobId) => JOB + id,
  idempotencyKey: (key: string) => IDEM + key,
};

interface DocRow {
  doc: string;
}

/** The cursor is the last sort key returned; it is only ever used as a bound inside one tenant's partition. */
function encodeCursor(tenantId: TenantId, sk: string): string {
  return encodePageCursor(jobListOf(tenantId), sk);
}

function decodeCursor(tenantId: TenantId, cursor: string): string {
  return decodePageCursor(cursor, jobListOf(tenantId), (sk) => sk.startsWith(JOB) && sk < JOB_END);
}

/** One tenant's jobs in a job database: the port's, and an update that commits more writes with it. */
export interface SqliteTenantJobStore extends TenantJobStore {
  /** `TenantJobStore.update`; `alongside` runs in the same transaction on this store's database. */
  update(next: JobRecord, expectedVersion: number, alongside?: AlongsideWrite): Promise<JobRecord>;
}

/** The embedded job store; its tenant stores take writes alongside an update (`SqliteTenantJobStore`). */
export interface SqliteJobStore extends JobStore {
  forTenant(tenantId: TenantId): SqliteTenantJobStore;
}

/**
 * Jobs in one table shaped like the DynamoDB one: partition `T#{tenantId}`, sort key `JOB#{id}` / `IDEM#{key}`.
 * With `usage`, a write that finishes a job also records its usage (see meter-completion.ts).
 */
export function createSqliteJobStore(
  db: SqliteDatabase,
  options: { usage?: UsageLedger | SqliteUsageLedger } = {},
): SqliteJobStore {
  const stmt = {
    insert: db.prepare(
      'INSERT OR IGNORE INTO job_items (pk, sk, doc, version, status, model) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    get: db.prepare<[string, string], DocRow>('SELECT doc FROM job_items WHERE pk = ? AND sk = ?'),
    // A job's model never changes after its submit: the usual update leaves the `model` column alone, as
    // SQLite rewrites the entries of every index on a column a SET names, even to the same value (a third
    // of an update's write-ahead log: 16.5 → 12.5 KB, session 14). `updateWithModel` is the rest.
    update: db.prepare(
      'UPDATE job_items SET doc = ?, version = ?, status = ? WHERE pk = ? AND sk = ? AND version = ? AND model IS ?',
    ),
    updateWithModel: db.prepare(
      'UPDATE job_items SET doc = ?, version = ?, status = ?, model = ? WHERE pk = ? AND sk = ? AND version = ?',
    ),
    delete: db.prepare('DELETE FROM job_items WHERE pk = ? AND sk = ?'),
    progress: db.prepare(
      "UPDATE job_items SET doc = json_set(doc, '$.progress', json(?)) WHERE pk = ? AND sk = ? AND version = ? AND status = 'running'",
    ),
    count: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM job_items WHERE pk = ?'),
    // Uses the (pk, status, sk) index and stops at the limit.
    countQueued: db.prepare<[string, number], { n: number }>(
      "SELECT count(*) AS n FROM (SELECT 1 FROM job_items WHERE pk = ? AND status = 'queued' LIMIT ?)",
    ),
  };
  // One statement per filter combination, so each uses its own index: (pk, sk), (pk, status, sk), (pk, model, sk).
  const listStmts = new Map<string, ReturnType<typeof db.prepare<unknown[], DocRow & { sk: string }>>>();
  const listStmt = (status: boolean, model: boolean) => {
    const key = `${status}/${model}`;
    let s = listStmts.get(key);
    if (!s) {
      const where = ['pk = @pk', 'sk > @lo', 'sk < @hi'];
      if (status) where.push('status = @status');
      if (model) where.push('model = @model');
      s = db.prepare<unknown[], DocRow & { sk: string }>(
        `SELECT sk, doc FROM job_items WHERE ${where.join(' AND ')} ORDER BY sk DESC LIMIT @limit`,
      );
      listStmts.set(key, s);
    }
    return s;
  };

  const forTenant = (tenantId: TenantId): SqliteTenantJobStore => {
    // The brand is only a compile-time promise; the partition key must never be built from anything else.
    parseTenantId(tenantId, '/tenantId');
    const pk = jobItemKeys.partition(tenantId);
    const own = (job: JobRecord): void => {
      if (job.tenantId !== tenantId)
        throw new ForbiddenError(`Job ${job.id} does not belong to tenant ${tenantId}.`);
    };
    return {
      tenantId,
      async create(job) {
        own(job);
        const { changes } = stmt.insert.run(
          pk,
          JOB + job.id,
          JSON.stringify(job),
          job.version,
          job.status,
          job.model,
        );
        if (changes === 0) throw new ConditionFailedError(`Job ${job.id} already exists.`);
      },
      async get(id: JobId) {
        const row = stmt.get.get(pk, JOB + id);
        return row ? (JSON.parse(row.doc) as JobRecord) : undefined;
      },
      async update(next, expectedVersion, alongside) {
        own(next);
        const stored: JobRecord = { ...next, version: expectedVersion + 1 };
        const write = () => {
          const doc = JSON.stringify(stored);
          const sk = JOB + next.id;
          let { changes } = stmt.update.run(
            doc,
            stored.version,
            stored.status,
            pk,
            sk,
            expectedVersion,
            stored.model,
          );
          // Not written: another version, or (rarely) another model; the second statement tells them apart.
          if (changes === 0)
            ({ changes } = stmt.updateWithModel.run(
              doc,
              stored.version,
              stored.status,
              stored.model,
              pk,
              sk,
              expectedVersion,
            ));
          if (changes === 0)
            throw new ConditionFailedError(`Job ${next.id} changed since version ${expectedVersion}.`);
        };
        await meterCompletion(db, stored, write, options.usage, alongside);
        return stored;
      },
      async recordProgress(id, version, progress) {
        return stmt.progress.run(JSON.stringify(progress), pk, JOB + id, version).changes > 0;
      },
      async list(query: ListJobsQuery): Promise<JobPage> {
        const limit = Math.max(1, Math.min(1000, Math.trunc(query.limit)));
        const rows = listStmt(query.status !== undefined, query.model !== undefined).all({
          pk,
          lo: JOB,
          hi: query.cursor ? decodeCursor(tenantId, query.cursor) : JOB_END,
          ...(query.status !== undefined ? { status: query.status } : {}),
          ...(query.model !== undefined ? { model: query.model } : {}),
          limit: limit + 1,
        });
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        return {
          items: page.map((r) => JSON.parse(r.doc) as JobRecord),
          ...(rows.length > limit && last ? { nextCursor: encodeCursor(tenantId, last.sk) } : {}),
        };
      },
      async delete(id) {
        erasing(db, () => stmt.delete.run(pk, JOB + id));
      },
      async claimIdempotencyKey(record: IdempotencyRecord) {
        const sk = IDEM + record.key;
        const { changes } = stmt.insert.run(pk, sk, JSON.stringify(record), 1, null, null);
        if (changes > 0) return undefined;
        const row = stmt.get.get(pk, sk);
        // Deleted between the two statements: the key is free again, so claim it.
        if (!row) return this.claimIdempotencyKey(record);
        return JSON.parse(row.doc) as IdempotencyRecord;
      },
      async deleteIdempotencyKey(key) {
        erasing(db, () => stmt.delete.run(pk, IDEM + key));
      },
      async countItems() {
        return stmt.count.get(pk)!.n;
      },
      async countQueued(upTo) {
        return stmt.countQueued.get(pk, Math.max(0, upTo))!.n;
      },
    };
  };

  return { forTenant };
}
