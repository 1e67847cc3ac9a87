import type { JobRecord } from '../../core/job.ts';
import { type UsageRecord, usageOfFinishedJob } from '../../core/usage.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import type { SqliteDatabase } from './database.ts';
import type { SqliteUsageLedger } from './usage-ledger.ts';

/** More writes on the job's database that commit with its update or not at all (a finished job's artifact rows). */
export type AlongsideWrite = (db: SqliteDatabase) => void;

/**
 * The one place a job's update is committed on the embedded backend, and its completion metered. `write`
 * is the job's compare-and-set; `alongside` (the outcome's artifact rows: store-provider.ts) and, when the
 * ledger lives in the same database (shared tenants: `jobs.sqlite`), the usage records go in the same
 * transaction, so the finish, its workbook and its usage commit together or not at all. A dedicated
 * tenant's own database records just before its commit (write-ahead, as the DynamoDB job store does),
 * idempotently: whoever reads the finished job also reads its usage, and a finish that loses its
 * compare-and-set is one whose job another writer finishes under the same record ids (the first win).
 */
export async function meterCompletion(
  db: SqliteDatabase,
  job: JobRecord,
  write: () => void,
  ledger: UsageLedger | SqliteUsageLedger | undefined,
  alongside?: AlongsideWrite,
): Promise<void> {
  const records = ledger ? usageOfFinishedJob(job) : [];
  const local = ledger && 'recordNow' in ledger && ledger.db === db ? ledger : undefined;
  // Recorded after the commit, the usage of a job the server finished in a dedicated tenant's database (a
  // dead letter settled, a timeout) was missing to a billing read that had already seen the job finished.
  if (records.length > 0 && ledger && !local) await ledger.record(records);
  if (alongside || (local && records.length > 0)) finishTransaction(db)(write, alongside, local, records);
  else write();
}

type FinishTransaction = (
  write: () => void,
  alongside: AlongsideWrite | undefined,
  ledger: SqliteUsageLedger | undefined,
  records: readonly UsageRecord[],
) => void;
const finishTransactions = new WeakMap<SqliteDatabase, FinishTransaction>();

/**
 * The job's write, what goes alongside and its usage in one transaction, made once per connection:
 * better-sqlite3 builds a transaction function with four `Object.defineProperties` each time
 * `db.transaction` is called, and this runs once per finished job. The compare-and-set goes first: a lost
 * race throws before the artifact's bytes are written.
 */
function finishTransaction(db: SqliteDatabase): FinishTransaction {
  let finish = finishTransactions.get(db);
  if (!finish) {
    finish = db.transaction(
      (
        write: () => void,
        alongside: AlongsideWrite | undefined,
        ledger: SqliteUsageLedger | undefined,
        records: readonly UsageRecord[],
      ) => {
        write();
        alongside?.(db);
        if (ledger && records.length > 0) ledger.recordNow(records);
      },
    );
    finishTransactions.set(db, finish);
  }
  return finish;
}
