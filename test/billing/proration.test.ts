import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TenantId } from '../../src/core/ids.ts';
import type { BillingPlan } from '../../src/core/plans.ts';
import { buildStatement, proratedFee } from '../../src/core/statement.ts';
import { prorated } from '../support/proration.ts';

const t = 'acme' as TenantId;
const growth: BillingPlan = {
  id: 'growth',
  name: 'Growth',
  tier: 'standard',
  currency: 'USD',
  baseFee: 90_000,
  included: {},
  overage: {},
  dedicatedSurcharge: 0,
  limits: {},
};
const march = [{ plan: growth, from: '2026-03-01', to: '2026-03-31' }];
const baseFees = (lifetime: { from?: string; to?: string }) =>
  buildStatement({
    tenantId: t,
    month: '2026-03',
    segments: march,
    records: [],
    costMicros: 0,
    adjustments: [],
    lifetime,
  })
    .lines.filter((l) => l.kind === 'base_fee')
    .map((l) => [l.from, l.to, l.amount]);

// The worked example of docs/billing.md: Growth, $900.00 a month, in March 2026 (31 days). The fee accrued
// by the end of day d is 90000 × d ÷ 31 cents, rounded half-even: day 9 → 26129.03 → 26129, day 20 →
// 58064.52 → 58065, day 31 → 90000.
describe('a base fee for a tenant created or offboarded mid-month', () => {
  it('bills the days from creation: created 10 March → 90000 − 26129 = 63871 ($638.71)', () => {
    expect(baseFees({ from: '2026-03-10' })).toEqual([['2026-03-10', '2026-03-31', 63_871]]);
  });

  it('bills the days to offboarding: offboarded 20 March → 58065 ($580.65)', () => {
    expect(baseFees({ from: '2026-01-05', to: '2026-03-20' })).toEqual([
      ['2026-03-01', '2026-03-20', 58_065],
    ]);
  });

  it('bills the days between both: 10 to 20 March → 58065 − 26129 = 31936 ($319.36)', () => {
    expect(baseFees({ from: '2026-03-10', to: '2026-03-20' })).toEqual([
      ['2026-03-10', '2026-03-20', 31_936],
    ]);
  });

  it('bills the whole fee for the whole month, and nothing for a month the tenant did not live in', () => {
    expect(baseFees({ from: '2026-02-10' })).toEqual([['2026-03-01', '2026-03-31', 90_000]]);
    expect(baseFees({})).toEqual([['2026-03-01', '2026-03-31', 90_000]]);
    expect(baseFees({ from: '2026-01-01', to: '2026-02-27' })).toEqual([]);
  });

  it('gives each cent to the days that accrued it: days 1–9, 10–20 and 21–31 add up to the fee', () => {
    const usd = { rounding: 'half-even' as const };
    const parts = [proratedFee(90_000, 1, 9, 31, usd), proratedFee(90_000, 10, 20, 31, usd)];
    parts.push(proratedFee(90_000, 21, 31, 31, usd));
    // 90000 − 58065 = 31935 for the last days.
    expect(parts).toEqual([26_129, 31_936, 31_935]);
  });

  it('prorates the included units by the same days', () => {
    const plan = { ...growth, included: { jobs: 3100 }, overage: { jobs: { minor: 1, per: 1 } } };
    const st = buildStatement({
      tenantId: t,
      month: '2026-03',
      segments: [{ plan, from: '2026-03-01', to: '2026-03-31' }],
      records: [],
      costMicros: 0,
      adjustments: [],
      lifetime: { from: '2026-03-22' },
    });
    // 10 of 31 days: 3100 × 10 ÷ 31 = 1000 included.
    expect(st.lines.find((l) => l.kind === 'usage')?.included).toBe(1000);
  });
});

const monthDays = fc.constantFrom(28, 29, 30, 31);
const fee = fc.integer({ min: 0, max: 1e12 });
const rounding = fc.constantFrom('half-even' as const, 'half-up' as const);

describe('proratedFee (property)', () => {
  it('over days that split a month, the fees add up to the whole fee; over some of them, to at most it', () => {
    fc.assert(
      fc.property(
        fee,
        monthDays,
        rounding,
        fc.uniqueArray(fc.integer({ min: 1, max: 27 }), { maxLength: 10 }),
        fc.array(fc.boolean(), { minLength: 11, maxLength: 11 }),
        (f, n, r, cuts, kept) => {
          const bounds = [0, ...cuts.filter((c) => c < n).sort((a, b) => a - b), n];
          const fees = bounds
            .slice(1)
            .map((last, i) => proratedFee(f, bounds[i]! + 1, last, n, { rounding: r }));
          expect(fees.every((x) => x >= 0)).toBe(true);
          expect(fees.reduce((a, b) => a + b, 0)).toBe(f);
          expect(fees.filter((_, i) => kept[i]).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(f);
        },
      ),
    );
  });

  it('a tenant present all month pays the whole fee; one present some days, at most it', () => {
    fc.assert(
      fc.property(
        fee,
        monthDays,
        rounding,
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 1, max: 31 }),
        (f, n, r, a, b) => {
          expect(proratedFee(f, 1, n, n, { rounding: r })).toBe(f);
          const [first, last] = [Math.min(a, b, n), Math.min(Math.max(a, b), n)];
          const part = proratedFee(f, first, last, n, { rounding: r });
          expect(part).toBeGreaterThanOrEqual(0);
          expect(part).toBeLessThanOrEqual(f);
        },
      ),
    );
  });

  it('agrees with the rule written out by hand (test/support/proration.ts)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e8 }),
        monthDays,
        rounding,
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 1, max: 31 }),
        (f, n, r, a, b) => {
          const [first, last] = [Math.min(a, b, n), Math.min(Math.max(a, b), n)];
          expect(proratedFee(f, first, last, n, { rounding: r })).toBe(prorated(f, first, last, n, r));
        },
      ),
    );
  });
});

describe('buildStatement base fees (property)', () => {
  const day = (n: number) => `2026-03-${String(n).padStart(2, '0')}`;
  it('a tenant living some days of a month pays at most the fee; one living all of it, the fee', () => {
    fc.assert(
      fc.property(fee, fc.integer({ min: 1, max: 31 }), fc.integer({ min: 1, max: 31 }), (f, a, b) => {
        const plan = { ...growth, baseFee: f };
        const sum = (lifetime: { from?: string; to?: string }) =>
          buildStatement({
            tenantId: t,
            month: '2026-03',
            segments: [{ plan, from: day(1), to: day(31) }],
            records: [],
            costMicros: 0,
            adjustments: [],
            lifetime,
          })
            .lines.filter((l) => l.kind === 'base_fee')
            .reduce((s, l) => s + l.amount, 0);
        expect(sum({ from: day(Math.min(a, b)), to: day(Math.max(a, b)) })).toBeLessThanOrEqual(f);
        expect(sum({ from: '2026-02-11' })).toBe(f);
        expect(sum({})).toBe(f);
      }),
    );
  });
});
