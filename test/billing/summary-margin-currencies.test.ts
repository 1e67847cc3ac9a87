import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
import { fromToday } from '../support/proration.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// The summary's platform totals took revenue and margin from the USD statements only but cost from every
// tenant: with a tenant billed in EUR, totals.revenue − totals.cost ≠ totals.margin, and the console's
// Platform row showed a cost that did not belong to its revenue. Found by the attack on s23-next.

// A cost table by hand (docs/billing.md, "Cost per tenant"): $0.05 a finished job, nothing else, no fixed
// costs, so each tenant's cost is its jobs × 5 cents whatever the day of the month.
let server: TestServer;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-costs-'));
  const costs = join(dir, 'costs.json');
  writeFileSync(
    costs,
    JSON.stringify({
      name: 'hand',
      perUnitUsd: {
        jobs: 0.05,
        compute_mb_ms: 0,
        mc_paths: 0,
        storage_byte_days: 0,
        api_requests: 0,
        dedicated_lane_hours: 0,
      },
      sharedFixedMonthUsd: 0,
      perTenantMonthUsd: 0,
    }),
  );
  server = await startTestServer({ env: { SILOPOOL_COST_TABLE: costs } });
});
afterAll(async () => {
  await server?.stop();
});

const op = (path: string, init: RequestInit = {}) =>
  server.api(path, { ...init, token: server.operatorToken });

async function runJob(tenant: string): Promise<void> {
  const token = await server.mintToken({ tenants: [tenant], user: 'alice@example.com' });
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token,
    tenant,
    body: JSON.stringify({ input: { revenue: 1_000_000 } }),
  });
  expect(res.status).toBe(202);
  const job = await waitForJob(server, token, ((await res.json()) as { id: string }).id, { tenant });
  expect(job.status).toBe('succeeded');
}

type Row = {
  currency: string;
  revenue: number;
  cost: number;
  margin: number | null;
  marginUnavailable?: string;
};

describe('the billing summary’s totals with a tenant billed in EUR', { timeout: 120_000 }, () => {
  it('counts each tenant’s cost in its statement currency’s row: revenue − cost = margin', async () => {
    const euro = { ...DEFAULT_PLANS.plans[1]!, id: 'euro', name: 'Euro', currency: 'EUR', baseFee: 40_000 };
    const saved = await op('/v1/admin/billing/plans', {
      method: 'PUT',
      body: JSON.stringify({ plans: [...DEFAULT_PLANS.plans, euro] }),
    });
    expect(saved.status).toBe(200);
    const usd = newTenantId('usd');
    const eur = newTenantId('eur');
    await server.createTenant(usd, { plan: 'standard' });
    await server.createTenant(eur);
    const month = new Date().toISOString().slice(0, 7);
    const change = await op(`/v1/admin/tenants/${eur}/plan`, {
      method: 'POST',
      body: JSON.stringify({ planId: 'euro', effective: `${month}-01` }),
    });
    expect(change.status).toBe(200);
    await runJob(usd);
    await runJob(usd);
    await runJob(eur);

    const summary = (await (await op(`/v1/admin/billing/summary?month=${month}`)).json()) as {
      items: { tenantId: string; currency: string; total: number; cost: number }[];
      totals: {
        revenue: number;
        cost: number;
        margin: number;
        platformCost: number;
        revenueByCurrency: Record<string, number>;
        byCurrency: Row[];
      };
    };

    // By hand (docs/billing.md): base fees for the days from today, the day of creation (Standard $500.00,
    // Euro €400.00, half-even cents); 3 jobs × $0.05 = 150,000 µ$ split by jobs 2 : 1 = 100,000 and 50,000
    // µ$ = 10 and 5 cents of USD. The USD row's margin is revenue − cost; the EUR row has none (no rate).
    const usdRevenue = fromToday(50_000);
    const eurRevenue = fromToday(40_000);
    expect(summary.items.find((s) => s.tenantId === usd)).toMatchObject({
      currency: 'USD',
      total: usdRevenue,
      cost: 10,
    });
    expect(summary.items.find((s) => s.tenantId === eur)).toMatchObject({
      currency: 'EUR',
      total: eurRevenue,
      cost: 5,
    });
    // Any other tenant of the server (none is created here) bills nothing and costs nothing.
    expect(summary.totals).toMatchObject({
      revenue: usdRevenue,
      cost: 10,
      margin: usdRevenue - 10,
      platformCost: 15,
      revenueByCurrency: { USD: usdRevenue, EUR: eurRevenue },
    });
    expect(summary.totals.revenue - summary.totals.cost).toBe(summary.totals.margin);
    expect(
      summary.totals.byCurrency.map(({ currency, revenue, cost, margin }) => ({
        currency,
        revenue,
        cost,
        margin,
      })),
    ).toEqual([
      { currency: 'EUR', revenue: eurRevenue, cost: 5, margin: null },
      { currency: 'USD', revenue: usdRevenue, cost: 10, margin: usdRevenue - 10 },
    ]);
    expect(summary.totals.byCurrency[0]!.marginUnavailable).toMatch(/EUR.*USD.*exchange rate/);
  });
});
