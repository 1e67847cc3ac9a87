import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { checkChaos } from './checker.ts';
import { type ChaosTenant, newLedger, report, SCALE } from './support.ts';

/**
 * Mixed load on the shared pool with no fault injected: finance and funds jobs of several tenants at
 * once, so both models' consumers compete for the same function threads. Every accepted job must run
 * and succeed; none may reach a dead-letter queue. `CHAOS_JOBS` runs it larger (the issue saw 27 of 800
 * dead-lettered without running).
 */
const JOBS = Number(process.env.CHAOS_JOBS ?? 200 * SCALE);
const CONCURRENT_SUBMITS = 16;

describe('mixed load on the shared pool', () => {
  let server: TestServer;
  const tenants: ChaosTenant[] = [];

  beforeAll(async () => {
    // Two receives: one delivery lost without running would already be half of a job's allowance.
    server = await startTestServer({ env: { SILOPOOL_MAX_RECEIVES: '2' } });
    for (let i = 0; i < 3; i++) {
      const id = newTenantId('mix');
      const { apiKey } = await server.createTenant(id, { plan: 'enterprise' });
      tenants.push({ id, apiKey, placement: 'shared' });
    }
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('runs every job of every tenant to success, with nothing dead-lettered', async () => {
    const jobs: { id: string; tenant: (typeof tenants)[number] }[] = [];
    let next = 0;
    const submitOne = async (n: number) => {
      const tenant = tenants[n % tenants.length]!;
      const funds = n % 2 === 1;
      const input = funds ? { simulations: n % 25 === 1 ? 3000 : 200, seed: n } : {};
      const res = await server.api(`/v1/models/${funds ? 'funds' : 'finance'}/jobs`, {
        method: 'POST',
        token: tenant.apiKey,
        body: JSON.stringify({ input }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      jobs.push({ id: ((await res.json()) as { id: string }).id, tenant });
    };
    await Promise.all(
      Array.from({ length: CONCURRENT_SUBMITS }, async () => {
        while (next < JOBS) await submitOne(next++);
      }),
    );
    expect(jobs).toHaveLength(JOBS);

    const ledger = newLedger();
    ledger.tenants.push(...tenants);
    ledger.accepted.push(...jobs.map((j) => ({ tenantId: j.tenant.id, jobId: j.id })));
    // No fault: every job must succeed (no failure is allowed).
    const result = await checkChaos(server, ledger, { terminalWithinMs: 50_000 });
    report('mixed load', { ...result });

    for (const queue of ['shared_finance', 'shared_funds']) {
      const res = await server.api(`/v1/admin/dead-letters?queue=${queue}`, { token: server.operatorToken });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { items: unknown[] }).items).toEqual([]);
    }
  }, 90_000);
});
