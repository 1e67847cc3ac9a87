import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

describe('a data directory whose artifacts earlier releases stored as files (a folder per job, or a file per job)', () => {
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

    // Back to the layouts of earlier releases: rows become files, the first job's as sessions 1–6 wrote
    // them (`jobs/{id}/workbook.xlsx~o`), the second's as session 7 did (`jobs/{id}~workbook.xlsx~o`).
    const folder = join(first.dataDir, 'objects', 'tenants', tenant, 'jobs');
    mkdirSync(folder, { recursive: true });
    const db = new Database(join(first.dataDir, 'jobs.sqlite'));
    for (const [i, job] of jobs.entries()) {
      const key = `tenants/${tenant}/jobs/${job.id}/workbook.xlsx`;
      const row = db.prepare('SELECT content_type, body FROM objects WHERE key = ?').get(key) as {
        content_type: string;
        body: Buffer;
      };
      const header = Buffer.alloc(256);
      header.writeUInt16BE(row.content_type.length, 0);
      header.write(row.content_type, 2, 'ascii');
      if (i === 0) mkdirSync(join(folder, job.id));
      const file =
        i === 0 ? join(folder, job.id, 'workbook.xlsx~o') : join(folder, `${job.id}~workbook.xlsx~o`);
      writeFileSync(file, Buffer.concat([header, row.body]));
      db.prepare('DELETE FROM objects WHERE key = ?').run(key);
    }
    db.close();

    const second = await startTestServer({ dataDir: first.dataDir });
    servers.push(second);
    for (const job of jobs)
      expect((await download(second, apiKey, job.id)).equals(bodies.get(job.id)!)).toBe(true);

    const moved = await waitForOperation(second, (await startMove(second, tenant, 'dedicated')).id);
    expect(moved.status).toBe('succeeded');
    for (const job of jobs)
      expect((await download(second, apiKey, job.id)).equals(bodies.get(job.id)!)).toBe(true);
    // Carried over as rows of the tenant's own job database.
    const dedicated = new Database(join(second.dataDir, 'tenants', tenant, 'jobs.sqlite'), {
      readonly: true,
    });
    const keys = dedicated.prepare('SELECT key FROM objects ORDER BY key').pluck().all();
    dedicated.close();
    expect(keys).toEqual(jobs.map((j) => `tenants/${tenant}/jobs/${j.id}/workbook.xlsx`).sort());
    expect(existsSync(join(second.dataDir, 'objects', 'tenants', tenant))).toBe(false);
    rmSync(first.dataDir, { recursive: true, force: true });
  }, 120_000);
});
