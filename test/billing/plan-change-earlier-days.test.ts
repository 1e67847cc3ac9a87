import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changePlan, type PlanChangeDeps } from '../../src/control/plans.ts';
import { isClosed, statementFor } from '../../src/control/statements.ts';
import { updateTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';
import { prorated, today } from '../support/proration.ts';

let dir: string;
let platform: EmbeddedPlatform;
let deps: PlanChangeDeps;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-plan-earlier-'));
  platform = openEmbeddedPlatform(dir);
  deps = {
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    billing: platform.billing,
    isClosed: (month) => isClosed(platform.billing, month),
  };
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const baseFees = (st: {
  lines: { kind: string; planId?: string; from: string; to: string; amount: number }[];
}) =>
  st.lines
    .filter((l) => l.kind === 'base_fee')
    .map(({ planId, from, to, amount }) => ({ planId, from, to, amount }));

/**
 * A tenant on Free since `createdAt` whose plan was changed to `plan` on `day` (`changePlan`, asked on
 * 2026-11-20 at 10:00 UTC): answers the tenant as it is now, what a statement of it takes, and that moment.
 */
async function planChanged(createdAt: string, plan: string, day: string) {
  const id = randomTenantId('earlier') as TenantId;
  await platform.directory.create(makeTenant(id, { plan: 'free', createdAt, updatedAt: createdAt }));
  const now = Date.parse('2026-11-20T10:00:00Z');
  await changePlan(deps, id, plan, day, now);
  const tenant = (await platform.directory.get(id))!;
  const billing = { ...deps, usage: platform.usage, costs: EMBEDDED_MACHINE_COSTS };
  return { tenant, billing, now };
}

// A statement bills the days before a tenant's first plan change on the plan of its tier. It read the tier
// as it is now, and a plan change sets the tier: a tenant on Free since October, changed to Enterprise on
// 20 November, was billed Enterprise's whole fee for 1–19 November and for its October days too (every month
// not closed), as if it had been on Enterprise since its creation.
describe('a plan change of a tenant that existed before it', () => {
  it('leaves the days before it on the plan the tenant had', async () => {
    const { tenant, billing } = await planChanged('2026-10-10T09:00:00.000Z', 'enterprise', '2026-11-20');
    expect(tenant.plan).toBe('enterprise');

    // November (30 days): Free ($0) on days 1–19, Enterprise ($12,000.00 a month) on days 20–30:
    // 1,200,000 × 30 ÷ 30 − 1,200,000 × 19 ÷ 30 = 1,200,000 − 760,000 = 440,000 cents (docs/billing.md).
    const november = await statementFor(billing, tenant, '2026-11');
    expect(baseFees(november)).toEqual([
      { planId: 'free', from: '2026-11-01', to: '2026-11-19', amount: 0 },
      { planId: 'enterprise', from: '2026-11-20', to: '2026-11-30', amount: 440_000 },
    ]);
    expect(prorated(1_200_000, 20, 30, 30)).toBe(440_000);
    expect(november.total).toBe(440_000);

    // October: created on the 10th, on Free to the end of the month.
    const october = await statementFor(billing, tenant, '2026-10');
    expect(baseFees(october)).toEqual([{ planId: 'free', from: '2026-10-10', to: '2026-10-31', amount: 0 }]);
    expect(october.total).toBe(0);
  });

  it('a change dated before the tenant existed still bills from its creation', async () => {
    const { tenant, billing } = await planChanged('2026-11-10T09:00:00.000Z', 'standard', '2026-11-01');
    // Standard ($500.00) on days 10–30 of 30: 50,000 − 50,000 × 9 ÷ 30 = 50,000 − 15,000 = 35,000 cents.
    const november = await statementFor(billing, tenant, '2026-11');
    expect(baseFees(november)).toEqual([
      { planId: 'standard', from: '2026-11-10', to: '2026-11-30', amount: 35_000 },
    ]);
    expect(prorated(50_000, 10, 30, 30)).toBe(35_000);
  });
});

// The sibling: a tier patched (`PATCH /v1/admin/tenants/{id}` `{ "plan" }`, the CLI, a tenants file) changed
// what every day without a plan change was billed on, back to the tenant's creation, and recorded nothing.
describe('a tier patched outside a plan change', () => {
  it('bills the new tier from today, and the days before on the plan the tenant had', async () => {
    const id = randomTenantId('patched') as TenantId;
    const now = new Date();
    const y = now.getUTCFullYear();
    const m = now.getUTCMonth();
    const created = new Date(Date.UTC(y, m - 2, 15, 9)).toISOString();
    await platform.directory.create(makeTenant(id, { plan: 'free', createdAt: created, updatedAt: created }));
    await updateTenant({ ...deps }, id, { plan: 'enterprise' });
    const tenant = (await platform.directory.get(id))!;
    expect(tenant.plan).toBe('enterprise');
    const billing = { ...deps, usage: platform.usage, costs: EMBEDDED_MACHINE_COSTS };

    const lastMonth = new Date(Date.UTC(y, m - 1, 1)).toISOString().slice(0, 7);
    expect((await statementFor(billing, tenant, lastMonth)).total).toBe(0);

    // This month: Free ($0) to yesterday, Enterprise ($12,000.00 a month) from today to the month's end.
    const month = now.toISOString().slice(0, 7);
    const { day, monthDays } = today(now);
    const dd = (d: number) => `${month}-${String(d).padStart(2, '0')}`;
    const expected = [
      ...(day > 1 ? [{ planId: 'free', from: dd(1), to: dd(day - 1), amount: 0 }] : []),
      {
        planId: 'enterprise',
        from: dd(day),
        to: dd(monthDays),
        amount: prorated(1_200_000, day, monthDays, monthDays),
      },
    ];
    expect(baseFees(await statementFor(billing, tenant, month))).toEqual(expected);
  });
});
