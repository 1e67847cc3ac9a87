import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tenantMoney } from '../../src/control/advisor-money.ts';
import { changePlan } from '../../src/control/plans.ts';
import { isClosed } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { recommendPlacement } from '../../src/core/advisor.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  // Only Date is faked: tenants are created on a chosen day, SQLite and timers run for real.
  vi.useFakeTimers({ toFake: ['Date'] });
  dir = mkdtempSync(join(tmpdir(), 'silopool-advisor-plan-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  vi.useRealTimers();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const NOW = Date.parse('2026-12-20T12:00:00Z');

async function tenantOn(plan: 'free' | 'standard' | 'enterprise', createdAt: string): Promise<TenantId> {
  vi.setSystemTime(Date.parse(createdAt));
  const id = randomTenantId('adv-plan') as TenantId;
  await createTenant(platform, { id, name: id, plan });
  vi.setSystemTime(NOW);
  return id;
}

const billing = () => ({
  directory: platform.directory,
  usage: platform.usage,
  billing: platform.billing,
  costs: EMBEDDED_MACHINE_COSTS,
});

const change = (id: TenantId, planId: string) =>
  changePlan(
    { ...platform, billing: platform.billing, isClosed: (m) => isClosed(platform.billing, m) },
    id,
    planId,
    undefined,
    NOW,
  );

// The advisor read revenue from this month's statement, which prorates each plan to its days: a tenant
// upgraded today was advised on the days it spent on its old plan until the month turned (up to a month of
// advice on a plan it no longer has). It now prices a tenant at the plan it is on now (`planOn` today), a
// whole month of it: the plan's base fee and this month's usage against the plan's monthly allowance.
// December 2026 has 31 days; amounts in cents, rounded half-even.
describe('the advisor prices a tenant at the plan it is on now', () => {
  it('a Free tenant upgraded to Enterprise today is advised as an Enterprise tenant', async () => {
    const id = await tenantOn('free', '2026-11-10T09:00:00Z');
    // 1,100,000 jobs on 5 December, while on Free.
    await platform.usage.record([
      {
        id: `job/${id}/bulk/jobs`,
        tenantId: id,
        meter: 'jobs',
        model: 'finance',
        quantity: 1_100_000,
        at: '2026-12-05T10:00:00.000Z',
        day: '2026-12-05',
      },
    ]);
    await change(id, 'enterprise');
    const money = (await tenantMoney(billing(), NOW)).get(id)!;
    // The statement bills Free on 1–19 December ($0, no prices) and Enterprise on 20–31: 1,200,000 −
    // round(1,200,000 × 19 ÷ 31 = 735,483.87) = 1,200,000 − 735,484 = 464,516 cents, no jobs in its days:
    // the old advice said $4,645.16. At Enterprise now, a month at the pace so far (19.5 of December's 31
    // days passed, advisor-money.ts): 1,100,000 × 31 ÷ 19.5 = 1,748,717.95 → 1,748,718 jobs, 748,718 beyond
    // the 1,000,000 included at 1 cent per 2 = 374,359 cents, + the 1,200,000 base fee: $15,743.59.
    expect(money.revenueUsd).toBe(15_743.59);
    expect(money.dedicatedSurchargeUsd).toBe(2_000);
    // Above the matrix's $10,000 line: promote (the old $4,645.16 kept it shared).
    const r = recommendPlacement({
      tenantId: id,
      placement: 'shared',
      plan: 'enterprise',
      jobsPerMonth: 10,
      computeSecondsPerMonth: 1,
      shareOfSharedCompute: 0,
      waitP95Sec: 0,
      requiresIsolation: false,
      money,
    });
    expect(r.action).toBe('promote');
  });

  it('an Enterprise tenant moved to Standard today is advised as a Standard tenant', async () => {
    const id = await tenantOn('enterprise', '2026-11-10T09:00:00Z');
    await change(id, 'standard');
    const money = (await tenantMoney(billing(), NOW)).get(id)!;
    // Statement: Enterprise 1–19 = 735,484; Standard 20–31 = 50,000 − round(50,000 × 19 ÷ 31 = 30,645.16)
    // = 19,355: 754,839 cents, $7,548.39 (over the $1,000 line: a dedicated tenant stayed). Now: $500.00.
    expect(money.revenueUsd).toBe(500);
    expect(money.dedicatedSurchargeUsd).toBe(1_000);
  });

  it('a tenant created this month is priced at its plan’s month, not its days so far', async () => {
    const id = await tenantOn('enterprise', '2026-12-10T09:00:00Z');
    const money = (await tenantMoney(billing(), NOW)).get(id)!;
    // Statement: Enterprise 10–31 = 1,200,000 − round(1,200,000 × 9 ÷ 31 = 348,387.10) = 851,613 cents,
    // $8,516.13 (under the $10,000 line until January). Its plan's month: $12,000.00.
    expect(money.revenueUsd).toBe(12_000);
  });

  it('a plan change dated in the future does not count yet', async () => {
    const id = await tenantOn('standard', '2026-11-10T09:00:00Z');
    await changePlan(
      { ...platform, billing: platform.billing, isClosed: (m) => isClosed(platform.billing, m) },
      id,
      'enterprise',
      '2027-01-01',
      NOW,
    );
    // Standard all December: 50,000 cents.
    expect((await tenantMoney(billing(), NOW)).get(id)!.revenueUsd).toBe(500);
  });
});
