import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LIST_PRICES,
  type PlacementSignals,
  recommendPlacement,
  type TenantMoney,
} from '../../src/core/advisor.ts';

/** A quiet tenant (no noise, no waits, no compliance need): only money decides. */
const quiet = (
  money: TenantMoney,
  placement: 'shared' | 'dedicated' = 'shared',
  tenantCount = 30,
): PlacementSignals => ({
  tenantId: 't-money',
  placement,
  plan: 'standard',
  jobsPerMonth: 10_000,
  computeSecondsPerMonth: 20_000,
  shareOfSharedCompute: 0.01,
  waitP95Sec: 1,
  requiresIsolation: false,
  money,
  tenantCount,
});

// Hand-worked from the seed's decision matrix (dedicated above $10K/month, shared below $1K/month) and the
// list prices of docs/aws.md: a dedicated stack (with its dashboard) costs $8.12 − $0.9474 = $7.1726 a month
// more than shared.
describe('the advisor places tenants by margin', () => {
  it('promotes a $12,000/month tenant whose surcharge pays for its stack, and says so in money', () => {
    const r = recommendPlacement(quiet({ revenueUsd: 12_000, costUsd: 40, dedicatedSurchargeUsd: 2_000 }));
    expect(r.action).toBe('promote');
    // Shared margin 12,000 − 40 = 11,960; dedicated 11,960 + 2,000 − 7.1726 = 13,952.8274.
    expect(r.marginUsd!.shared).toBeCloseTo(11_960, 6);
    expect(r.marginUsd!.dedicated).toBeCloseTo(13_952.8274, 6);
    expect(r.reasons[0]).toContain('$12,000.00');
    expect(r.reasons[0]).toContain('$10,000.00');
    expect(r.reasons[0]).toContain('$11,960.00 → $13,952.83');
  });

  it('keeps a $9,999/month tenant shared: under the dedicated line', () => {
    expect(
      recommendPlacement(quiet({ revenueUsd: 9_999, costUsd: 40, dedicatedSurchargeUsd: 2_000 })).action,
    ).toBe('keep');
  });

  it('does not promote above the line when the margin would be negative ($10,000 revenue, $10,100 cost, no surcharge)', () => {
    const r = recommendPlacement(quiet({ revenueUsd: 10_000, costUsd: 10_100, dedicatedSurchargeUsd: 0 }));
    expect(r.recommended).toBe('shared');
    // −100 shared; −100 − 7.1726 = −107.1726 dedicated.
    expect(r.marginUsd!.dedicated).toBeCloseTo(-107.1726, 6);
  });

  it('demotes a dedicated $500/month tenant and names the saving', () => {
    const r = recommendPlacement(
      quiet({ revenueUsd: 500, costUsd: 3, dedicatedSurchargeUsd: 100 }, 'dedicated'),
    );
    expect(r.action).toBe('demote');
    expect(r.reasons[0]).toContain('under the matrix');
    expect(r.reasons[0]).toContain(
      `$${(LIST_PRICES.dedicatedFixedUsd - LIST_PRICES.sharedFixedUsd).toFixed(2)}`,
    );
  });

  it('keeps a dedicated $5,000/month tenant dedicated: between the lines it stays where it is', () => {
    expect(
      recommendPlacement(quiet({ revenueUsd: 5_000, costUsd: 30, dedicatedSurchargeUsd: 1_000 }, 'dedicated'))
        .action,
    ).toBe('keep');
  });

  it('compliance still comes first: an isolated $200/month tenant stays dedicated', () => {
    const s = {
      ...quiet({ revenueUsd: 200, costUsd: 1, dedicatedSurchargeUsd: 0 }, 'dedicated'),
      requiresIsolation: true,
    };
    expect(recommendPlacement(s).action).toBe('keep');
  });

  it('never flaps with money in the signals', () => {
    fc.assert(
      fc.property(
        fc.record({
          revenueUsd: fc.double({ min: 0, max: 50_000, noNaN: true }),
          costUsd: fc.double({ min: 0, max: 20_000, noNaN: true }),
          dedicatedSurchargeUsd: fc.double({ min: 0, max: 5_000, noNaN: true }),
        }),
        fc.constantFrom<'shared' | 'dedicated'>('shared', 'dedicated'),
        (money, placement) => {
          const first = recommendPlacement(quiet(money, placement));
          expect(recommendPlacement(quiet(money, first.recommended)).action).toBe('keep');
        },
      ),
    );
  });
});
