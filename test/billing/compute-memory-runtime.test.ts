import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/core/job.ts';
import { functions, submit, until } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { billedCompute } from './ledger-record.ts';

// The real server: shared jobs run in its function threads, a dedicated tenant's in a process of its own
// started with the tenant's memory setting. Each records the memory it ran with on the job, and the ledger
// bills compute_mb_ms = the measured run (ms) × that memory (MB), a dedicated one's as its host measured it. Run times are whatever they are here; the
// figures checked are exact ratios of the recorded ones.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
});
afterAll(async () => {
  await server?.stop();
});

/** The job record as stored: the shared store, or the dedicated tenant's own file. */
function storedJob(tenantId: string, jobId: string, own: boolean): JobRecord {
  const file = own
    ? join(server.dataDir, 'tenants', tenantId, 'jobs.sqlite')
    : join(server.dataDir, 'jobs.sqlite');
  const db = new Database(file, { readonly: true });
  try {
    const doc = db
      .prepare('SELECT doc FROM job_items WHERE pk = ? AND sk = ?')
      .pluck()
      .get(`T#${tenantId}`, `JOB#${jobId}`) as string;
    return JSON.parse(doc) as JobRecord;
  } finally {
    db.close();
  }
}

async function runJob(tenantId: string, apiKey: string, own: boolean) {
  const job = await submit(server, apiKey, { revenue: 1_000_000 });
  expect((await waitForJob(server, apiKey, job.id, { timeoutMs: 60_000 })).status).toBe('succeeded');
  const record = storedJob(tenantId, job.id, own);
  expect(record.computeMs).toBeGreaterThan(0);
  return { record, billed: await billedCompute(server, tenantId, job.id) };
}

/**
 * A dedicated job is billed the host's figures (runtime/host-compute.ts): the memory it started the process
 * with, and the run it saw, from handing the event over to the job's finish report: no shorter than what the
 * process measured inside (2 ms for the rounding of two clocks).
 */
function expectHostBilled(job: Awaited<ReturnType<typeof runJob>>, memoryMb: number) {
  expect(job.billed % memoryMb).toBe(0);
  expect(job.billed / memoryMb).toBeGreaterThanOrEqual(job.record.computeMs! - 2);
}

describe('compute is billed at the memory the function ran with', () => {
  it('a shared job at the shared pool’s 512 MB; a dedicated one at its setting, and after a change at the new one', async () => {
    const shared = newTenantId('mshr');
    // A shared tenant's function setting is not what its jobs run with: they run on the shared threads.
    const { apiKey: sharedKey } = await server.createTenant(shared, {
      config: { function: { memoryMb: 4096 } },
    });
    const onShared = await runJob(shared, sharedKey, false);
    expect(onShared.record.memoryMb).toBe(512);
    expect(onShared.billed).toBe(onShared.record.computeMs! * 512);

    const dedicated = newTenantId('mded');
    const { apiKey } = await server.createTenant(dedicated, {
      placement: 'dedicated',
      config: { function: { memoryMb: 1024 } },
    });
    const first = await runJob(dedicated, apiKey, true);
    // Its process was started with --max-old-space-size=1024; before, nothing recorded it and it was × 512.
    expect(first.record.memoryMb).toBe(1024);
    expectHostBilled(first, 1024);

    // The operator doubles its memory: the warm process ends, the next job runs in one started with 2048.
    const patched = await server.api(`/v1/admin/tenants/${dedicated}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body: JSON.stringify({ config: { function: { memoryMb: 2048 } } }),
    });
    expect(patched.status).toBe(200);
    await until('the function to have the new setting', async () => {
      const fn = (await functions(server)).find((f) => f.tenantId === dedicated && f.model === 'finance') as
        | { settings?: { memoryMb: number } }
        | undefined;
      return fn?.settings?.memoryMb === 2048;
    });
    const second = await runJob(dedicated, apiKey, true);
    expect(second.record.memoryMb).toBe(2048);
    expectHostBilled(second, 2048);
    // The first job keeps what it ran with.
    expect(storedJob(dedicated, first.record.id, true).memoryMb).toBe(1024);
    expect(await billedCompute(server, dedicated, first.record.id)).toBe(first.billed);
  }, 120_000);
});
