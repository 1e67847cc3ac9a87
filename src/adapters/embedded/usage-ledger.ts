import { parseTenantId, type TenantId } from '../../core/ids.ts';
import type { DayRange, Meter, UsageRecord } from '../../core/usage.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import type { SqliteDatabase } from './database.ts';

interface Row {
  id: string;
  tenant_id: string;
  meter: string;
  model: string;
  quantity: number;
  at: string;
  day: string;
}

/** The embedded ledger also writes inside a caller's transaction on the same database (`recordNow`). */
export interface SqliteUsageLedger extends UsageLedger {
  readonly db: SqliteDatabase;
  /** Synchronous `INSERT OR IGNORE` of each record; run inside the caller's transaction to share its commit. */
  recordNow(records: readonly UsageRecord[]): number;
}

const fromRow = (r: Row): UsageRecord => ({
  id: r.id,
  tenantId: r.tenant_id as TenantId,
  meter: r.meter as Meter,
  model: r.model,
  quantity: r.quantity,
  at: r.at,
  day: r.day,
});

/** UsageLedger on the `usage_records` table of an embedded database (the shared jobs database). */
export function createSqliteUsageLedger(db: SqliteDatabase): SqliteUsageLedger {
  const insert = db.prepare(
    'INSERT OR IGNORE INTO usage_records (id, tenant_id, meter, model, quantity, at, day) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const byTenant = db.prepare<[string, string, string], Row>(
    'SELECT * FROM usage_records WHERE tenant_id = ? AND day >= ? AND day <= ? ORDER BY day, id',
  );
  const byDay = db.prepare<[string, string], Row>(
    'SELECT * FROM usage_records WHERE day >= ? AND day <= ? ORDER BY day, id',
  );
  const recordNow = (records: readonly UsageRecord[]) => {
    let added = 0;
    for (const r of records)
      added += insert.run(r.id, r.tenantId, r.meter, r.model, r.quantity, r.at, r.day).changes;
    return added;
  };
  const recordAll = db.transaction(recordNow);
  return {
    db,
    recordNow,
    async record(records) {
      return records.length === 0 ? 0 : recordAll(records);
    },
    forTenant(tenantId) {
      parseTenantId(tenantId, '/tenantId');
      return {
        tenantId,
        async list(range: DayRange) {
          return byTenant.all(tenantId, range.from, range.to).map(fromRow);
        },
      };
    },
    async list(range) {
      return byDay.all(range.from, range.to).map(fromRow);
    },
  };
}
