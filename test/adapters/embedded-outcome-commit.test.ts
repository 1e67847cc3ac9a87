import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import { createEmbeddedStoreProvider } from '../../src/adapters/embedded/store-provider.ts';
import { createSqliteUsageLedger } from '../../src/adapters/embedded/usage-ledger.ts';
import { startAttempt } from '../../src/core/attempt-time.ts';
import { ConditionFailedError } from '../../src/core/errors.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { artifactKey, type JobRecord, nextJobVersion } from '../../src/core/job.ts';
import type { StoreRef } from '../../src/core/placement.ts';
import { type OutcomeArtifact, stageOutcome, type TenantData, tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';

// A finishing job's record, its workbook and its usage records commit together on the embedded stores
// (`commitOutcome` over `StoreProvider.outcomeWriter`): real SQLite files, failures injected by real
// triggers and a real lost compare-and-set.

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function platformStores() {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-outcome-'));
  const jobsDb = openDatabase(join(dir, 'jobs.sqlite'));
  const stores = createEmbeddedStoreProvider(dir, jobsDb, { usage: createSqliteUsageLedger(jobsDb) });
  cleanups.push(async () => {
    await stores.close();
    jobsDb.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { stores, jobsDb };
}

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** A job of `tenantId` created and running in `data`, and its finished record with one workbook. */
async function runningJob(data: TenantData, tenantId: TenantId, size = 42_000) {
  const queued = makeJob(tenantId);
  await data.jobs.create(queued);
  const running = await data.jobs.update(
    nextJobVersion(queued, { status: 'running', ...startAttempt(queued, new Date().toISOString(), 512) }),
    queued.version,
  );
  const key = artifactKey(queued.id, 'workbook.xlsx');
  const body = new Uint8Array(size).fill(7);
  const finished: JobRecord = nextJobVersion(running, {
    status: 'succeeded',
    finishedAt: new Date().toISOString(),
    artifacts: [{ name: 'workbook.xlsx', contentType: XLSX, size, sha256: 'x'.repeat(64), key }],
  });
  return { running, finished, artifacts: [{ key, body, contentType: XLSX }] };
}

/** The handler's way: the artifacts staged, then the record's compare-and-set that commits them. */
async function commitOutcome(
  data: TenantData,
  next: JobRecord,
  expected: number,
  artifacts: OutcomeArtifact[],
) {
  return (await stageOutcome(data, artifacts))(next, expected);
}

const usageOf = (db: SqliteDatabase, jobId: string) =>
  (db.prepare('SELECT meter FROM usage_records WHERE id LIKE ?').all(`%/${jobId}/%`) as { meter: string }[])
    .map((r) => r.meter)
    .sort();

describe('a job outcome and its workbook commit together (embedded)', () => {
  it('the outcome, the workbook row and the usage records are written by one commit', async () => {
    const { stores, jobsDb } = platformStores();
    const tenantId = randomTenantId();
    const data = tenantDataAt(stores, { kind: 'shared' }, tenantId);
    expect(data.writeOutcome).toBeDefined();
    const { running, finished, artifacts } = await runningJob(data, tenantId);
    await commitOutcome(data, finished, running.version, artifacts);
    expect((await data.jobs.get(running.id))?.status).toBe('succeeded');
    expect((await data.objects.get(artifacts[0]!.key))?.body).toEqual(artifacts[0]!.body);
    expect(usageOf(jobsDb, running.id)).toEqual(['compute_mb_ms', 'jobs']);
  });

  it('a failure inside the commit (the usage insert refused) leaves neither the outcome nor the workbook', async () => {
    const { stores, jobsDb } = platformStores();
    const tenantId = randomTenantId();
    const data = tenantDataAt(stores, { kind: 'shared' }, tenantId);
    const { running, finished, artifacts } = await runningJob(data, tenantId);
    jobsDb.exec(
      "CREATE TEMP TRIGGER refuse_usage BEFORE INSERT ON usage_records BEGIN SELECT RAISE(ABORT, 'injected'); END",
    );
    await expect(commitOutcome(data, finished, running.version, artifacts)).rejects.toThrow(/injected/);
    // Nothing of it: the record is still the running one, and no reader finds the workbook.
    expect(await data.jobs.get(running.id)).toEqual(running);
    expect(await data.objects.get(artifacts[0]!.key)).toBeUndefined();
    expect(usageOf(jobsDb, running.id)).toEqual([]);
    // The redelivery's commit goes through once the fault is gone.
    jobsDb.exec('DROP TRIGGER temp.refuse_usage');
    await commitOutcome(data, finished, running.version, artifacts);
    expect((await data.objects.get(artifacts[0]!.key))?.size).toBe(42_000);
  });

  for (const kind of ['shared', 'dedicated'] as const) {
    it(`a delivery that lost the compare-and-set writes no workbook over the winner's (${kind})`, async () => {
      const { stores } = platformStores();
      const tenantId = randomTenantId();
      const ref: StoreRef = kind === 'shared' ? { kind } : { kind, tenantId };
      await stores.provision(ref);
      const data = tenantDataAt(stores, ref, tenantId);
      const { running, finished, artifacts } = await runningJob(data, tenantId);
      // Another delivery finished it first, with its own workbook.
      const winner = new Uint8Array(1000).fill(1);
      await commitOutcome(data, finished, running.version, [{ ...artifacts[0]!, body: winner }]);
      await expect(commitOutcome(data, finished, running.version, artifacts)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect((await data.objects.get(artifacts[0]!.key))?.body).toEqual(winner);
    });
  }

  it('an artifact too large for a row is stored as a file before the record (dedicated)', async () => {
    const { stores } = platformStores();
    const tenantId = randomTenantId();
    const ref: StoreRef = { kind: 'dedicated', tenantId };
    await stores.provision(ref);
    const data = tenantDataAt(stores, ref, tenantId);
    const { running, finished, artifacts } = await runningJob(data, tenantId, 1024 * 1024 + 1);
    await commitOutcome(data, finished, running.version, artifacts);
    expect((await data.jobs.get(running.id))?.status).toBe('succeeded');
    expect((await data.objects.get(artifacts[0]!.key))?.size).toBe(1024 * 1024 + 1);
  });
});
