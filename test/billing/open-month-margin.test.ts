import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeMonth, statementFor } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { CostTable } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { storageDayRecord } from '../../src/core/usage.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

// An open month's statement billed the whole base fee against only the days so far of fixed cost, so its
// margin on the 2nd was nearly a month of fixed cost better than the month then closed at with no more
// usage. Both fixed sides are now a whole month's (docs/billing.md "Open months").
const openPlatform = tempPlatforms('open-margin');
beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }));
afterEach(() => vi.useRealTimers());

// $300 a month of shared fixed cost, $3 per tenant, and storage: every part of the cost in play.
const COSTS: CostTable = {
  name: 'test',
  perUnitUsd: {
    jobs: 0,
    compute_mb_ms: 0,
    mc_paths: 0,
    storage_byte_days: 0.5 / 1024 ** 3,
    api_requests: 0,
    dedicated_lane_hours: 0,
  },
  sharedFixedMonthUsd: 300,
  perTenantMonthUsd: 3,
};

describe("an open month's margin", () => {
  it('is on one basis: on the 2nd it is what the month closes at if nothing more is used', async () => {
    const { platform } = openPlatform();
    vi.setSystemTime(Date.parse('2026-10-20T09:00:00Z'));
    const id = randomTenantId('margin') as TenantId;
    await createTenant(platform, { id, name: id, plan: 'standard' });
    await platform.usage.record([storageDayRecord(id, '2026-11-01', 4 * 1024 ** 3)]);
    const deps = {
      directory: platform.directory,
      usage: platform.usage,
      billing: platform.billing,
      costs: COSTS,
    };
    const tenant = (await platform.directory.get(id))!;

    const onThe2nd = Date.parse('2026-11-02T06:00:00Z');
    vi.setSystemTime(onThe2nd);
    const open = await statementFor(deps, tenant, '2026-11');
    vi.setSystemTime(Date.parse('2026-11-29T18:00:00Z'));
    const late = await statementFor(deps, tenant, '2026-11');
    vi.setSystemTime(Date.parse('2026-12-01T01:00:00Z'));
    const [closed] = (await closeMonth(deps, '2026-11', Date.now())).filter((s) => s.tenantId === id);

    // Standard: $500.00 for the whole month. Cost: $2 of storage + $300 + $3 of fixed = $305.00.
    expect(open.total).toBe(50_000);
    expect(open.cost).toBe(30_500);
    // Old code, on the 2nd: $2 + $303 × 30 h ÷ 720 h = $14.62, margin $485.38 (the closed month: $195.00).
    expect(open.margin).toBe(19_500);
    expect(late).toMatchObject({ total: open.total, cost: open.cost, margin: open.margin });
    expect(closed).toMatchObject({
      status: 'closed',
      total: open.total,
      cost: open.cost,
      margin: open.margin,
    });
  });
});
