import type { JobRecord } from '../../core/job.ts';
import { type UsageRecord, usageOfFinishedJob } from '../../core/usage.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import type { SqliteDatabase } from './database.ts';
import type { SqliteUsageLedger } from './usage-ledger.ts';

/**
 * The one place a job's completion is metered on the embedded backend. `write` is the job's
 * compare-and-set; when the ledger lives in the same database (shared tenants: `jobs.sqlite`), the usage
 * records go in the same transaction, so the finish and its usage commit together or not at all. A
 * dedicated tenant's own database records just before its commit (write-ahead, as the DynamoDB job store
 * does), idempotently: whoever reads the finished job also reads its usage, and a finish that loses its
 * compare-and-set is one whose job another writer finishes under the same record ids (the first win).
 */
export async function meterCompletion(
  db: SqliteDatabase,
  job: JobRecord,
  write: () => void,
  ledger: UsageLedger | SqliteUsageLedger | undefined,
): Promise<void> {
  const records = ledger ? usageOfFinishedJob(job) : [];
  if (records.length === 0 || !ledger) {
    write();
    return;
  }
  if ('recordNow' in ledger && ledger.db === db) {
    finishTransaction(db)(write, ledger, records);
    return;
  }
  // Recorded after the commit, the usage of a job the server finished in a dedicated tenant's database (a
  // dead letter settled, a timeout) was missing to a billing read that had already seen the job finished.
  await ledger.record(records);
  write();
}

type FinishTransaction = (
  write: () => void,
  ledger: SqliteUsageLedger,
  records: readonly UsageRecord[],
) => void;
const finishTransactions = new WeakMap<SqliteDatabase, FinishTransaction>();

/**
 * The job's write and its usage in one transaction, made once per connection: better-sqlite3 builds a
 * transaction function with four `Object.defineProperties` each time `db.transaction` is called, and this
 * runs once per finished job.
 */
function finishTransaction(db: SqliteDatabase): FinishTransaction {
  let finish = finishTransactions.get(db);
  if (!finish) {
    finish = db.transaction(
      (write: () => void, ledger: SqliteUsageLedger, records: readonly UsageRecord[]) => {
        write();
        ledger.recordNow(records);
      },
    );
    finishTransactions.set(db, finish);
  }
  return finish;
}
