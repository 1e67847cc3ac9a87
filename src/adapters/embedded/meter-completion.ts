import type { JobRecord } from '../../core/job.ts';
import { usageOfFinishedJob } from '../../core/usage.ts';
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
    db.transaction(() => {
      write();
      ledger.recordNow(records);
    })();
    return;
  }
  // Recorded after the commit, the usage of a job the server finished in a dedicated tenant's database (a
  // dead letter settled, a timeout) was missing to a billing read that had already seen the job finished.
  await ledger.record(records);
  write();
}
