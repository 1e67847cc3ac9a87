import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tenantMoney } from '../../src/control/advisor-money.ts';
import { savePlans } from '../../src/control/plans.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { LIST_PRICES, recommendPlacement } from '../../src/core/advisor.ts';
import type { CostTable } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  dir = mkdtempSync(join(tmpdir(), 'silopool-advisor-basis-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  vi.useRealTimers();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

// Two cents a job and $30 a month of shared fixed cost, nothing else: one tenant carries all of it.
const COSTS: CostTable = {
  name: 'test',
  perUnitUsd: {
    jobs: 0.02,
    compute_mb_ms: 0,
    mc_paths: 0,
    storage_byte_days: 0,
    api_requests: 0,
    dedicated_lane_hours: 0,
  },
  sharedFixedMonthUsd: 30,
  perTenantMonthUsd: 0,
};

/** A Standard tenant since October on a $500 plan with 1,000 jobs included, 10 cents a job beyond. */
async function steadyTenant(): Promise<TenantId> {
  vi.setSystemTime(Date.parse('2026-10-01T00:00:00Z'));
  await savePlans(platform.billing, {
    plans: DEFAULT_PLANS.plans.map((p) =>
      p.id === 'standard'
        ? {
            ...p,
            baseFee: 50_000,
            included: { jobs: 1_000 },
            overage: { jobs: { minor: 10, per: 1 } },
            dedicatedSurcharge: 100_000,
          }
        : p,
    ),
  });
  const id = randomTenantId('adv-basis') as TenantId;
  await createTenant(platform, { id, name: id, plan: 'standard' });
  return id;
}

/** 300 jobs on each of November's first `days` days. */
async function jobsDaily(id: TenantId, days: number): Promise<void> {
  const records = Array.from({ length: days }, (_, i) => {
    const day = `2026-11-${String(i + 1).padStart(2, '0')}`;
    return {
      id: `job/${id}/${day}/jobs`,
      tenantId: id,
      meter: 'jobs' as const,
      model: 'finance',
      quantity: 300,
      at: `${day}T12:00:00.000Z`,
      day,
    };
  });
  await platform.usage.record(records);
}

const deps = () => ({
  directory: platform.directory,
  usage: platform.usage,
  billing: platform.billing,
  costs: COSTS,
});

// The advisor's cost was the month so far scaled to the month, its revenue the plan's fee plus the usage so
// far beyond a whole month's allowance: early in a month the usage charges were missing and the margin
// looked small (a dedicated tenant was advised to shared on the 2nd and kept on the 28th). Both are now a
// month at the pace so far. November 2026 has 30 days; 300 jobs a day is 9,000 jobs a month.
describe('the advisor judges revenue and cost on one basis', () => {
  it('a tenant with steady usage has the same revenue, cost and margin on day 2 as on day 28', async () => {
    const id = await steadyTenant();
    const seen = [];
    for (const days of [2, 28]) {
      await jobsDaily(id, days);
      // The end of day `days`: `days`/30 of November has passed.
      const now = Date.parse(`2026-11-${String(days + 1).padStart(2, '0')}T00:00:00Z`);
      vi.setSystemTime(now);
      const money = (await tenantMoney(deps(), now)).get(id)!;
      const advice = recommendPlacement({
        tenantId: id,
        placement: 'dedicated',
        plan: 'standard',
        jobsPerMonth: 9_000,
        computeSecondsPerMonth: 0,
        shareOfSharedCompute: 0,
        waitP95Sec: 0,
        requiresIsolation: false,
        money,
      });
      seen.push({ days, money, advice });
    }
    const premium = LIST_PRICES.dedicatedFixedUsd - LIST_PRICES.sharedFixedUsd;
    for (const { money, advice } of seen) {
      // Revenue: $500 + (9,000 − 1,000) jobs × 10 cents = $1,300. Old code, day 2: 600 jobs so far, none
      // beyond 1,000: $500 (under the $1,000 line: demote); day 28: 8,400 so far: $500 + $740 = $1,240.
      expect(money.revenueUsd).toBe(1_300);
      // Cost: 9,000 × $0.02 + $30 = $210 (day 2: ($12 + $2) ÷ 2/30; day 28: ($168 + $28) ÷ 28/30).
      expect(money.costUsd).toBeCloseTo(210, 6);
      expect(money.dedicatedSurchargeUsd).toBe(1_000);
      // Margin shared $1,300 − $210 = $1,090; dedicated + $1,000 surcharge − the stack's premium.
      expect(advice.marginUsd!.shared).toBeCloseTo(1_090, 6);
      expect(advice.marginUsd!.dedicated).toBeCloseTo(2_090 - premium, 6);
      expect(advice.action).toBe('keep');
    }
  });
});
