import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rememberFormerTenant } from '../../src/control/former-tenants.ts';
import { listStatements, statementFor } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { utcMonth } from '../../src/core/usage.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// The operators' statement of any month was computed for a tenant, a whole month's base fee on its plan,
// even for months before the tenant existed (a tenant created this week had a bill for January 2020).
describe('statements of months before a tenant existed', () => {
  let dir: string;
  let platform: EmbeddedPlatform;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'silopool-months-'));
    platform = openEmbeddedPlatform(dir);
  });
  afterEach(async () => {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('have none (404) unless an earlier tenant of the id lived then: then it is that tenant’s', async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const billing = {
      ...deps,
      usage: platform.usage,
      billing: platform.billing,
      costs: EMBEDDED_MACHINE_COSTS,
    };
    const id = randomTenantId('months') as TenantId;
    const { tenant } = await createTenant(deps, { id, name: 'New', plan: 'enterprise' });
    await expect(statementFor(billing, tenant, '2020-01')).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
    });
    await expect(statementFor(billing, tenant, '2020-02')).rejects.toMatchObject({ status: 404 });

    // A Standard tenant of the same id lived from 5 to 20 January 2020 (31 days). Standard is $500.00 a
    // month: accrued by the end of the 20th 50000 × 20 ÷ 31 = 32258.06 → 32258, of the 4th 50000 × 4 ÷ 31
    // = 6451.61 → 6452 (half-even); its days bill 32258 − 6452 = 25806.
    const earlier = { ...tenant, plan: 'standard' as const, createdAt: '2020-01-05T09:00:00.000Z' };
    delete (earlier as { incarnation?: string }).incarnation;
    await rememberFormerTenant(platform.billing, earlier, Date.parse('2020-01-20T17:00:00Z'));
    const st = await statementFor(billing, tenant, '2020-01');
    expect(st.lines.filter((l) => l.kind === 'base_fee')).toMatchObject([
      { planId: 'standard', from: '2020-01-05', to: '2020-01-20', amount: 25_806 },
    ]);
    await expect(statementFor(billing, tenant, '2020-02')).rejects.toMatchObject({ status: 404 });

    // An id without a tenant record and nothing billed: no statement, and none listed for this month.
    const unknown = { id: randomTenantId('months') as TenantId, plan: 'free' as const };
    await expect(statementFor(billing, unknown, utcMonth(Date.now()))).rejects.toMatchObject({ status: 404 });
    expect(await listStatements(billing, unknown)).toEqual([]);
  });
});

describe('the operators’ statement route', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 404 for a month before the tenant was created, in every format', async () => {
    const id = newTenantId('months');
    await server.createTenant(id, { plan: 'enterprise' });
    for (const format of ['json', 'csv', 'html']) {
      const res = await server.api(`/v1/admin/tenants/${id}/statements/2020-01?format=${format}`, {
        token: server.operatorToken,
      });
      expect(res.status, format).toBe(404);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const month = new Date().toISOString().slice(0, 7);
    const unknown = await server.api(`/v1/admin/tenants/${newTenantId('never')}/statements/${month}`, {
      token: server.operatorToken,
    });
    expect(unknown.status).toBe(404);
    const now = await server.api(`/v1/admin/tenants/${id}/statements/${month}`, {
      token: server.operatorToken,
    });
    expect(now.status).toBe(200);
  }, 60_000);
});
