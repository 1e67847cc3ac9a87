import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { createMoveRunner } from '../../src/control/placement-move.ts';
import { createTenant, provisionPlacement } from '../../src/control/tenants.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { alive, functions, SLOW_FUNDS, spares, submit, until } from './helpers.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '2' } });
});
afterAll(async () => {
  await server?.stop();
});

describe('dedicated placement', () => {
  it('provisions own lanes, runs jobs in a child process that cold-starts and scales to zero', async () => {
    const tenant = newTenantId('ded');
    const { apiKey, tenant: created } = await server.createTenant(tenant, {
      placement: 'dedicated',
      config: { function: { idleTimeoutSec: 1 } },
    });
    expect(created.placement).toBe('dedicated');
    // Its own queues (with dead-letter queues), SQLite file and object root.
    const queues = (await (await server.api('/v1/admin/queues', { token: server.operatorToken })).json()) as {
      items: { queue: string }[];
    };
    const names = queues.items.map((q) => q.queue);
    expect(names).toContain(`tenant_${tenant}_finance`);
    expect(names).toContain(`tenant_${tenant}_funds`);
    expect(existsSync(join(server.dataDir, 'tenants', tenant, 'jobs.sqlite'))).toBe(true);
    expect(existsSync(join(server.dataDir, 'tenants', tenant, 'objects'))).toBe(true);
    // Creating it again is refused and changes nothing.
    const again = await server.api('/v1/admin/tenants', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ id: tenant, name: 'again', placement: 'dedicated' }),
    });
    expect(again.status).toBe(409);

    const before = await until('the dedicated lane', async () =>
      (await functions(server)).find((f) => f.tenantId === tenant && f.model === 'finance'),
    );
    expect(before.state).toBe('cold');
    // A dedicated tenant exists: the host keeps a spare function process (SILOPOOL_SPARE_FUNCTION_PROCESSES,
    // default 1) loaded and bound to no tenant, which the cold start takes.
    await until('a loaded spare', async () => (await spares(server)).loaded === 1);
    const job = await submit(server, apiKey, { revenue: 1_000_000 });
    const done = await waitForJob(server, apiKey, job.id);
    expect(done.status).toBe('succeeded');
    // The workbook is a row of the tenant's own job database, and nowhere in the shared one.
    const key = `tenants/${tenant}/jobs/${job.id}/workbook.xlsx`;
    const own = new Database(join(server.dataDir, 'tenants', tenant, 'jobs.sqlite'), { readonly: true });
    const sharedDb = new Database(join(server.dataDir, 'jobs.sqlite'), { readonly: true });
    try {
      expect(own.prepare('SELECT count(*) FROM objects WHERE key = ?').pluck().get(key)).toBe(1);
      expect(sharedDb.prepare('SELECT count(*) FROM objects WHERE key = ?').pluck().get(key)).toBe(0);
    } finally {
      own.close();
      sharedDb.close();
    }
    expect(existsSync(join(server.dataDir, 'objects', 'tenants', tenant))).toBe(false);

    const warm = (await functions(server)).find((f) => f.tenantId === tenant && f.model === 'finance')!;
    expect(warm.state).toBe('warm');
    expect(warm.pid).toBeGreaterThan(0);
    expect(warm.pid).not.toBe(server.process.pid);
    expect(warm.coldStartMs).toBeGreaterThan(0);
    expect(warm.coldStarts).toBe(1);
    expect(warm.startedFrom).toBe('spare');
    // Scale to zero after the 1 s idle timeout: the process is gone.
    await until('scale to zero', async () => {
      const fn = (await functions(server)).find((f) => f.tenantId === tenant && f.model === 'finance')!;
      return fn.state === 'cold' && !fn.pid;
    });
    await until('the process to exit', async () => !alive(warm.pid!));
    // The next job starts it again: a second cold start, from the spare forked behind the first one taken.
    await until('another loaded spare', async () => (await spares(server)).loaded === 1);
    const second = await submit(server, apiKey, { revenue: 2_000_000 });
    expect((await waitForJob(server, apiKey, second.id)).status).toBe('succeeded');
    const restarted = (await functions(server)).find((f) => f.tenantId === tenant && f.model === 'finance')!;
    expect(restarted.coldStarts).toBe(2);
    expect(restarted.pid).not.toBe(warm.pid);
    expect(restarted.startedFrom).toBe('spare');
    // Cold starts are exported as metrics too.
    const metrics = await (await server.api('/metrics', { token: server.operatorToken })).text();
    const labels = `function="${restarted.name}",tenant="${tenant}",model="finance"`;
    expect(metrics).toContain(`silopool_function_cold_starts_total{${labels}} 2`);
    expect(metrics).toMatch(new RegExp(`silopool_function_cold_start_seconds\\{${labels}\\} \\d+\\.\\d{3}`));
  }, 60_000);

  it('refuses dedicated placement for an id whose queue names would not fit SQS (80 characters)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-long-'));
    const platform = openEmbeddedPlatform(dir);
    try {
      const long = `l${'x'.repeat(61)}`; // 62 characters: a valid tenant id
      const refused = await createTenant(platform, { id: long, name: 'Long', placement: 'dedicated' }).catch(
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(ValidationError);
      expect((refused as ValidationError).problems[0]?.message).toMatch(/more than SQS's 80/);
      // Shared it may be; its promotion is refused the same way, before anything changes.
      await createTenant(platform, { id: long, name: 'Long' });
      const moves = createMoveRunner({ ...platform, operations: createSqliteOperationStore(platform.db) });
      await expect(moves.start(long, 'dedicated')).rejects.toBeInstanceOf(ValidationError);
      expect((await platform.directory.get(parseTenantId(long)))?.move).toBeUndefined();
      // A 61-character id still fits (tenant_{id}_finance-dlq is 80).
      await createTenant(platform, { id: `m${'x'.repeat(60)}`, name: 'Fits', placement: 'dedicated' });
      await moves.stop();
    } finally {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('provisioning is idempotent: running it twice leaves the same lanes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-prov-'));
    const platform = openEmbeddedPlatform(dir);
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const id = parseTenantId(newTenantId('prov'));
    const tenant = { id, config: emptyConfig() } as Tenant;
    await provisionPlacement(deps, tenant, 'dedicated');
    const first = await platform.queue.listQueues(`tenant_${id}`);
    await provisionPlacement(deps, tenant, 'dedicated');
    expect(await platform.queue.listQueues(`tenant_${id}`)).toEqual(first);
    expect(first).toEqual([
      `tenant_${id}_finance`,
      `tenant_${id}_finance-dlq`,
      `tenant_${id}_funds`,
      `tenant_${id}_funds-dlq`,
    ]);
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("killing one tenant's function never stops another's work; the killed job is retried and succeeds once", async () => {
    const victim = newTenantId('victim');
    const other = newTenantId('other');
    const shared = newTenantId('shared');
    const v = await server.createTenant(victim, { placement: 'dedicated' });
    const o = await server.createTenant(other, { placement: 'dedicated' });
    const s = await server.createTenant(shared);
    await until('dedicated lanes', async () => {
      const fns = await functions(server);
      return fns.some((f) => f.tenantId === victim) && fns.some((f) => f.tenantId === other);
    });
    const doomed = await submit(server, v.apiKey, SLOW_FUNDS, {}, 'funds');
    await until('the job to run', async () => {
      const res = await server.api(`/v1/jobs/${doomed.id}`, { token: v.apiKey });
      return ((await res.json()) as { status: string }).status === 'running';
    });
    const running = (await functions(server)).find((f) => f.tenantId === victim && f.model === 'funds')!;
    expect(running.inFlight).toBe(1);
    const othersJobs = [
      ...(await Promise.all([1, 2, 3].map((i) => submit(server, o.apiKey, { revenue: i * 1000 })))),
    ];
    const sharedJobs = await Promise.all(
      [1, 2, 3].map((i) => submit(server, s.apiKey, { revenue: i * 1000 })),
    );
    process.kill(running.pid!, 'SIGKILL');
    for (const job of othersJobs)
      expect((await waitForJob(server, o.apiKey, job.id)).status).toBe('succeeded');
    for (const job of sharedJobs)
      expect((await waitForJob(server, s.apiKey, job.id)).status).toBe('succeeded');
    const retried = await waitForJob(server, v.apiKey, doomed.id, { timeoutMs: 40_000 });
    expect(retried.status).toBe('succeeded');
    expect(retried.attempts).toBe(2);
    expect(retried.artifacts).toHaveLength(1);
    const fn = (await functions(server)).find((f) => f.tenantId === victim && f.model === 'funds')!;
    expect(fn.pid).not.toBe(running.pid);
  }, 60_000);
});
