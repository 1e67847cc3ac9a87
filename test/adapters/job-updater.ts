// Child process of embedded-job-store-concurrency.test.ts: races compare-and-set updates of one job.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteJobStore } from '../../src/adapters/embedded/job-store.ts';
import { ConditionFailedError } from '../../src/core/errors.ts';
import type { JobId, TenantId } from '../../src/core/ids.ts';

const [dbPath, tenantId, jobId, rounds, barrierDir] = process.argv.slice(2);
const store = createSqliteJobStore(openDatabase(dbPath!)).forTenant(tenantId as TenantId);
writeFileSync(join(barrierDir!, `ready-${process.pid}`), '');
while (!existsSync(join(barrierDir!, 'go'))) await new Promise((resolve) => setTimeout(resolve, 2));
// Each win: the version it wrote and the model it named (every third update moves the job to another model).
const wins: { version: number; model: string }[] = [];
let conflicts = 0;
for (let i = 0; i < Number(rounds); i++) {
  const job = (await store.get(jobId as JobId))!;
  const model = i % 3 === 0 ? (job.model === 'finance' ? 'funds' : 'finance') : job.model;
  try {
    const stored = await store.update({ ...job, model, attempts: job.attempts + 1 }, job.version);
    wins.push({ version: stored.version, model });
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    conflicts++;
  }
}
process.stdout.write(JSON.stringify({ wins, conflicts }));
