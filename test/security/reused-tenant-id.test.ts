import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offboardTenant } from '../placement/helpers.ts';
import { fromToday, prorated, today } from '../support/proration.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const op = () => ({ token: server.operatorToken });
const json = (body: unknown) => ({ method: 'POST', body: JSON.stringify(body) });

const offboard = (id: string) => offboardTenant(server, id);

// A tenant id offboarded and created again is a new customer (its old tokens and keys are refused). Its
// billing once was not: the ledger, adjustments, plan changes and statements are kept by tenant id after
// offboarding, so the new tenant read the old one's usage, credits and statements, and was billed for them.
describe('a tenant id created again', () => {
  it("never shows or bills the earlier tenant's usage, corrections, plan changes or statements", async () => {
    const id = newTenantId('reuse');
    const first = await server.createTenant(id, { name: 'Old Customer' });
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: first.apiKey,
      body: '{"input":{}}',
    });
    await waitForJob(server, first.apiKey, ((await res.json()) as { id: string }).id);
    const credit = await server.api(`/v1/admin/tenants/${id}/adjustments`, {
      ...json({ amount: -1234, reason: 'Goodwill credit for Old Customer Ltd' }),
      ...op(),
    });
    expect(credit.status).toBe(201);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const later = await server.api(`/v1/admin/tenants/${id}/plan`, {
      ...json({ planId: 'enterprise', effective: tomorrow }),
      ...op(),
    });
    expect(later.status).toBe(200);
    const earlier = (await (await server.api('/v1/billing/usage', { token: first.apiKey })).json()) as {
      usage: { jobs: number };
    };
    expect(earlier.usage.jobs).toBe(1);

    await offboard(id);
    const second = await server.createTenant(id, { name: 'New Customer', plan: 'free' });
    const key = second.apiKey;
    const month = new Date().toISOString().slice(0, 7);

    const usage = (await (await server.api('/v1/billing/usage', { token: key })).json()) as {
      usage: Record<string, number>;
      total: number;
      jobsPerDay: unknown[];
    };
    expect(usage.usage.jobs).toBe(0);
    expect(usage.jobsPerDay).toEqual([]);
    expect(usage.total).toBe(0);
    for (const path of ['/v1/billing/statements', `/v1/billing/statements/${month}`]) {
      const body = await (await server.api(path, { token: key })).text();
      expect(body, path).not.toContain('Old Customer');
      expect(body, path).not.toContain('-1234');
    }
    // The operators' statement of the new tenant is the new tenant's too.
    const st = (await (await server.api(`/v1/admin/tenants/${id}/statements/${month}`, op())).json()) as {
      total: number;
      usage: { jobs: number };
    };
    expect(st).toMatchObject({ total: 0, usage: { jobs: 0 } });
    // The earlier tenant's plan change, due tomorrow, is not the new tenant's.
    const next = new Date(Date.now() + 86_400_000).toISOString().slice(0, 7);
    const nextSt = (await (await server.api(`/v1/admin/tenants/${id}/statements/${next}`, op())).json()) as {
      lines: { kind: string; planId?: string }[];
    };
    expect(nextSt.lines.filter((l) => l.kind === 'base_fee').map((l) => l.planId)).toEqual(['free']);
    // A month before it existed has no statement of it.
    expect((await server.api('/v1/billing/statements/2020-01', { token: key })).status).toBe(404);
  }, 90_000);
});

describe('an offboarded tenant', () => {
  // An offboarded tenant's statements fell back to the free plan (its tier died with its record): an
  // enterprise tenant offboarded before its month closed owed nothing for the month, not even its usage.
  it("bills an offboarded tenant's month on the plan it was on", async () => {
    const id = newTenantId('gone');
    await server.createTenant(id, { plan: 'enterprise' });
    const month = new Date().toISOString().slice(0, 7);
    const before = (await (await server.api(`/v1/admin/tenants/${id}/statements/${month}`, op())).json()) as {
      total: number;
    };
    // Enterprise's $12,000.00 a month for the days it existed: from today, then today alone.
    expect(before.total).toBe(fromToday(1_200_000));
    await offboard(id);
    const { day, monthDays } = today();
    const summary = (await (await server.api(`/v1/admin/billing/summary?month=${month}`, op())).json()) as {
      items: { tenantId: string; total: number }[];
    };
    expect(summary.items.find((s) => s.tenantId === id)?.total).toBe(
      prorated(1_200_000, day, day, monthDays),
    );
  }, 90_000);
});
