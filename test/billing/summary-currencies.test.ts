import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
import { fromToday } from '../support/proration.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const op = (path: string, init: RequestInit = {}) =>
  server.api(path, { ...init, token: server.operatorToken });

// The platform totals of the billing summary (and the console's chart) added every statement's total in
// its own minor units: a tenant billed ¥1,200,000 added $12,000.00 to the platform's revenue.
describe('the billing summary across currencies', () => {
  it('totals each currency apart; the USD totals hold USD statements only', async () => {
    const yen = { ...DEFAULT_PLANS.plans[1]!, id: 'yen', name: 'Yen', currency: 'JPY', baseFee: 1_200_000 };
    const saved = await op('/v1/admin/billing/plans', {
      method: 'PUT',
      body: JSON.stringify({ plans: [...DEFAULT_PLANS.plans, yen] }),
    });
    expect(saved.status).toBe(200);
    const usd = newTenantId('usd');
    const jpy = newTenantId('jpy');
    await server.createTenant(usd);
    await server.createTenant(jpy);
    const month = new Date().toISOString().slice(0, 7);
    const change = await op(`/v1/admin/tenants/${jpy}/plan`, {
      method: 'POST',
      body: JSON.stringify({ planId: 'yen', effective: `${month}-01` }),
    });
    expect(change.status).toBe(200);

    const summary = (await (await op(`/v1/admin/billing/summary?month=${month}`)).json()) as {
      items: { tenantId: string; total: number; currency: string }[];
      totals: { revenue: number; revenueByCurrency: Record<string, number> };
    };
    const byCurrency = (c: string) =>
      summary.items.filter((s) => s.currency === c).reduce((a, s) => a + s.total, 0);
    expect(summary.items.find((s) => s.tenantId === jpy)).toMatchObject({
      currency: 'JPY',
      // ¥1,200,000 a month for the days from today, its day of creation; yen round half-up.
      total: fromToday(1_200_000, 'half-up'),
    });
    expect(summary.totals.revenue).toBe(byCurrency('USD'));
    expect(summary.totals.revenueByCurrency).toEqual({ USD: byCurrency('USD'), JPY: byCurrency('JPY') });

    const months = (await (await op('/v1/admin/billing/months?months=1')).json()) as {
      items: { tenants: { tenantId: string; currency: string }[] }[];
    };
    expect(months.items[0]!.tenants.find((t) => t.tenantId === jpy)?.currency).toBe('JPY');
  });
});
