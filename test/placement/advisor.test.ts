import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

interface Recommendation {
  tenantId: string;
  action: string;
  recommended: string;
  reasons: string[];
}

describe('the placement advisor on a running platform', () => {
  it('recommends promoting the tenant that dominates shared compute and the one that needs isolation, and applies it', async () => {
    const noisy = newTenantId('noisy');
    const quiet = newTenantId('quiet');
    const regulated = newTenantId('bank');
    const noisyKey = (await server.createTenant(noisy)).apiKey;
    const quietKey = (await server.createTenant(quiet)).apiKey;
    await server.createTenant(regulated, {
      config: { placementPolicy: { mode: 'advise', requiresIsolation: true } },
    });
    const submit = async (key: string, n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await server.api('/v1/models/finance/jobs', {
          method: 'POST',
          token: key,
          body: '{"input":{}}',
        });
        ids.push(((await res.json()) as { id: string }).id);
      }
      for (const id of ids) await waitForJob(server, key, id);
    };
    await submit(noisyKey, 40);
    await submit(quietKey, 2);

    const op = { token: server.operatorToken };
    const advice = (await (await server.api('/v1/admin/advisor', op)).json()) as {
      from: string;
      to: string;
      items: Recommendation[];
    };
    // The basis it read and scaled, stated: this UTC month so far (at least its first day).
    expect(advice.from).toBe(`${new Date().toISOString().slice(0, 7)}-01T00:00:00.000Z`);
    expect(Date.parse(advice.to)).toBeGreaterThanOrEqual(Date.parse(advice.from) + 86_400_000);
    const byId = new Map(advice.items.map((r) => [r.tenantId, r]));
    expect(byId.get(noisy)).toMatchObject({ action: 'promote', recommended: 'dedicated' });
    expect(byId.get(quiet)).toMatchObject({ action: 'keep', recommended: 'shared' });
    expect(byId.get(regulated)?.reasons[0]).toContain('isolated');

    const applied = await server.api('/v1/admin/advisor/apply', {
      method: 'POST',
      ...op,
      body: JSON.stringify({ tenantIds: [noisy] }),
    });
    expect(applied.status).toBe(202);
    const { items } = (await applied.json()) as { items: { tenantId: string; operationId: string }[] };
    expect(items.map((i) => i.tenantId)).toEqual([noisy]);
    const deadline = Date.now() + 60_000;
    let status = 'running';
    while (status === 'running' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = (
        (await (await server.api(`/v1/admin/operations/${items[0]!.operationId}`, op)).json()) as {
          status: string;
        }
      ).status;
    }
    expect(status).toBe('succeeded');
    const tenant = (await (await server.api(`/v1/admin/tenants/${noisy}`, op)).json()) as {
      placement: string;
    };
    expect(tenant.placement).toBe('dedicated');
    const again = (await (await server.api('/v1/admin/advisor', op)).json()) as { items: Recommendation[] };
    expect(again.items.find((r) => r.tenantId === noisy)?.action).toBe('keep');
  }, 120_000);

  it('does not propose demoting a tenant an operator placed dedicated a minute ago, and says why', async () => {
    const op = { token: server.operatorToken };
    const placed = newTenantId('placed');
    await server.createTenant(placed, { placement: 'dedicated' });
    const advice = (await (await server.api('/v1/admin/advisor', op)).json()) as { items: Recommendation[] };
    const r = advice.items.find((x) => x.tenantId === placed);
    expect(r).toMatchObject({ action: 'keep', recommended: 'dedicated' });
    expect(r?.reasons[0]).toMatch(/^an operator placed it dedicated (less than a minute|1 minute) ago/);
    const applied = await server.api('/v1/admin/advisor/apply', {
      method: 'POST',
      ...op,
      body: JSON.stringify({ tenantIds: [placed] }),
    });
    expect(((await applied.json()) as { items: unknown[] }).items).toEqual([]);
  }, 60_000);
});
