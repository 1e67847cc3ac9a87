import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteMessageQueue, openDatabase } from '../../src/adapters/embedded/index.ts';
import { failObjectWrites } from '../support/object-faults.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

/**
 * One job's stored objects, by name: rows of the shared job database (`tenants/{t}/jobs/{id}/{name}`) and
 * files (`{jobId}~{name}~o` in its tenant's `jobs/` folder, named `{name}~o`), so a copy in both counts twice.
 */
function objectFiles(dataDir: string, tenant: string, jobId: string): string[] {
  const db = new Database(join(dataDir, 'jobs.sqlite'), { readonly: true });
  const prefix = `tenants/${tenant}/jobs/${jobId}/`;
  const rows = (
    db
      .prepare('SELECT key FROM objects WHERE key >= ? AND key < ?')
      .pluck()
      .all(prefix, `${prefix}~`) as string[]
  ).map((key) => key.slice(prefix.length));
  db.close();
  try {
    return [
      ...rows,
      ...readdirSync(join(dataDir, 'objects', 'tenants', tenant, 'jobs'))
        .filter((name) => name.startsWith(`${jobId}~`))
        .map((name) => name.slice(jobId.length + 1)),
    ];
  } catch {
    return rows;
  }
}

describe('crash safety', () => {
  it('after SIGKILL with jobs queued and running, every accepted job ends in one terminal state with one set of artifacts', async () => {
    const first = await startTestServer({ env: { SILOPOOL_WORKERS: '2' }, keepData: true });
    const tenant = newTenantId('crash');
    const { apiKey } = await first.createTenant(tenant);
    const accepted: string[] = [];
    // A 30-year monthly loan makes each job take long enough that some are mid-run at the kill.
    const heavy = {
      years: 30,
      loan: { principal: 5_000_000, annualRate: 0.06, termMonths: 360, startDate: '2026-01-01' },
    };
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await first.api('/v1/models/finance/jobs', {
          method: 'POST',
          token: apiKey,
          body: JSON.stringify({ input: { ...heavy, revenue: 1_000_000 + i } }),
        });
        if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
      }),
    );
    expect(accepted).toHaveLength(40);
    await first.kill();

    const second = await startTestServer({ dataDir: first.dataDir });
    servers.push(second);
    const finals = await Promise.all(
      accepted.map((id) => waitForJob(second, apiKey, id, { timeoutMs: 60_000 })),
    );
    for (const job of finals) {
      expect(job.status).toBe('succeeded');
      expect(job.artifacts).toHaveLength(1);
      expect(
        objectFiles(first.dataDir, tenant, String(job.id)).filter((f) => f.startsWith('workbook.xlsx')),
      ).toHaveLength(1);
    }
    const listed = (await (await second.api('/v1/jobs?limit=100', { token: apiKey })).json()) as {
      items: unknown[];
    };
    expect(listed.items).toHaveLength(40);
    rmSync(first.dataDir, { recursive: true, force: true });
  }, 120_000);
});

describe('dead letters', () => {
  it('a message that fails on every delivery lands in the dead-letter queue, is visible to operators and can be redriven', async () => {
    const server = await startTestServer({
      env: { SILOPOOL_MAX_RECEIVES: '2', SILOPOOL_VISIBILITY_TIMEOUT_SEC: '2' },
    });
    servers.push(server);
    const tenant = newTenantId('poison');
    const { apiKey } = await server.createTenant(tenant);
    // Every attempt to store the tenant's workbook fails.
    const repair = failObjectWrites(server.dataDir, tenant, 'disk I/O error');
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: '{"input":{}}',
    });
    const { id } = (await res.json()) as { id: string };
    const failed = await waitForJob(server, apiKey, id, { timeoutMs: 30_000 });
    expect(failed.status).toBe('failed');
    expect((failed.error as { code: string }).code).toBe('retries_exhausted');

    // A message that is not a job at all is poison too.
    const db = openDatabase(join(server.dataDir, 'silopool.sqlite'));
    await createSqliteMessageQueue(db).send('shared_finance', { body: '{"not":"a job"}' });
    db.close();

    const op = { token: server.operatorToken };
    let queues: { queue: string; deadLetters: number }[] = [];
    const deadline = Date.now() + 30_000;
    do {
      await new Promise((r) => setTimeout(r, 200));
      queues = ((await (await server.api('/v1/admin/queues', op)).json()) as { items: typeof queues }).items;
    } while (
      (queues.find((q) => q.queue === 'shared_finance')?.deadLetters ?? 0) < 2 &&
      Date.now() < deadline
    );
    expect(queues.find((q) => q.queue === 'shared_finance')?.deadLetters, JSON.stringify(queues)).toBe(2);

    const letters = (await (await server.api('/v1/admin/dead-letters?queue=shared_finance', op)).json()) as {
      items: { body: string; receiveCount: number }[];
    };
    expect(letters.items.map((l) => l.body)).toEqual(expect.arrayContaining(['{"not":"a job"}']));
    expect(letters.items.some((l) => l.body.includes(id))).toBe(true);

    repair();
    const redrive = await server.api('/v1/admin/dead-letters/redrive', {
      method: 'POST',
      ...op,
      body: JSON.stringify({ queue: 'shared_finance' }),
    });
    expect(await redrive.json()).toEqual({ moved: 2 });
    const rerun = await waitForJob(server, apiKey, id, { timeoutMs: 30_000 });
    expect(rerun.status).toBe('succeeded');
    expect(rerun.artifacts).toHaveLength(1);
    const unknown = await server.api('/v1/admin/dead-letters?queue=nope', op);
    expect(unknown.status).toBe(400);
  }, 90_000);
});
