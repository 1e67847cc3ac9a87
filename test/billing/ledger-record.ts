import { join } from 'node:path';
import Database from 'better-sqlite3';
import { until } from '../placement/helpers.ts';
import type { TestServer } from '../support/server.ts';

/**
 * The quantity of a job's compute_mb_ms record in the server's ledger (its `jobs.sqlite`), once it is there:
 * a dedicated process's is written when the host hears of the finish, just after the job reads finished.
 */
export async function billedCompute(server: TestServer, tenantId: string, jobId: string): Promise<number> {
  return until(`the compute record of ${jobId}`, async () => {
    const db = new Database(join(server.dataDir, 'jobs.sqlite'), { readonly: true });
    try {
      return db
        .prepare('SELECT quantity FROM usage_records WHERE id = ?')
        .pluck()
        .get(`job/${tenantId}/${jobId}/compute_mb_ms`) as number | undefined;
    } finally {
      db.close();
    }
  });
}
