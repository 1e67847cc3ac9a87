import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { startMove, submit, waitForOperation } from './helpers.ts';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function download(server: TestServer, apiKey: string, jobId: string): Promise<Buffer> {
  const res = await server.api(`/v1/jobs/${jobId}/artifacts/workbook.xlsx`, { token: apiKey });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('a data directory whose artifacts the previous release stored (a folder per job)', () => {
  it('serves them, and a move to dedicated placement carries them over', async () => {
    const first = await startTestServer({ keepData: true });
    servers.push(first);
    const tenant = newTenantId('old');
    const { apiKey } = await first.createTenant(tenant, { plan: 'enterprise' });
    const jobs = await Promise.all([1, 2].map((i) => submit(first, apiKey, { revenue: 100_000 * i })));
    const bodies = new Map<string, Buffer>();
    for (const job of jobs) {
      await waitForJob(first, apiKey, job.id);
      bodies.set(job.id, await download(first, apiKey, job.id));
    }
    await first.stop();
    servers.splice(0);

    // Back to the layout of the previous release: `jobs/{id}/workbook.xlsx~o`.
    const folder = join(first.dataDir, 'objects', 'tenants', tenant, 'jobs');
    for (const job of jobs) {
      mkdirSync(join(folder, job.id));
      renameSync(join(folder, `${job.id}~workbook.xlsx~o`), join(folder, job.id, 'workbook.xlsx~o'));
    }

    const second = await startTestServer({ dataDir: first.dataDir });
    servers.push(second);
    for (const job of jobs)
      expect((await download(second, apiKey, job.id)).equals(bodies.get(job.id)!)).toBe(true);

    const moved = await waitForOperation(second, (await startMove(second, tenant, 'dedicated')).id);
    expect(moved.status).toBe('succeeded');
    for (const job of jobs)
      expect((await download(second, apiKey, job.id)).equals(bodies.get(job.id)!)).toBe(true);
    const dedicated = join(second.dataDir, 'tenants', tenant, 'objects', 'tenants', tenant, 'jobs');
    for (const job of jobs) expect(existsSync(join(dedicated, `${job.id}~workbook.xlsx~o`))).toBe(true);
    expect(existsSync(join(second.dataDir, 'objects', 'tenants', tenant))).toBe(false);
    rmSync(first.dataDir, { recursive: true, force: true });
  }, 120_000);
});
