import { describe, expect, it } from 'vitest';
import { parsePlansFile } from '../../src/control/plans.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { roundRatio } from '../../src/core/money.ts';
import { type BillingPlan, DEFAULT_PLANS } from '../../src/core/plans.ts';
import { buildStatement, type PlanAssignment, planSegments } from '../../src/core/statement.ts';
import type { UsageRecord } from '../../src/core/usage.ts';

const t = 'acme' as TenantId;
const plan = (id: string, over: Partial<BillingPlan> = {}): BillingPlan => ({
  id,
  name: id,
  tier: 'standard',
  currency: 'USD',
  baseFee: 0,
  included: {},
  overage: {},
  dedicatedSurcharge: 0,
  limits: {},
  ...over,
});
const jobs = (day: string, quantity: number): UsageRecord => ({
  id: `${day}/${quantity}`,
  tenantId: t,
  meter: 'jobs',
  model: 'finance',
  quantity,
  at: `${day}T12:00:00.000Z`,
  day,
});
const change = (planId: string, effective: string): PlanAssignment => ({
  id: `${t}/${effective}/${planId}`,
  tenantId: t,
  planId,
  effective,
  createdAt: `${effective}T00:00:00.000Z`,
});

describe('money', () => {
  it('rounds half-even for USD and half-up for JPY, exactly', () => {
    expect(roundRatio(5n, 2n, 'half-even')).toBe(2); // 2.5 → 2
    expect(roundRatio(7n, 2n, 'half-even')).toBe(4); // 3.5 → 4
    expect(roundRatio(5n, 2n, 'half-up')).toBe(3);
    expect(roundRatio(-5n, 2n, 'half-even')).toBe(-2);
    expect(roundRatio(10n ** 20n + 1n, 2n, 'half-even')).toBe(Number(5n * 10n ** 19n));
  });
});

describe('statements', () => {
  const small = plan('small', {
    baseFee: 3000,
    included: { jobs: 300 },
    overage: { jobs: { minor: 1, per: 2 } },
  });
  const big = plan('big', {
    baseFee: 31_000,
    included: { jobs: 3100 },
    overage: { jobs: { minor: 1, per: 1 } },
  });
  const plans = (id: string) => [small, big].find((p) => p.id === id);

  it('prorates a mid-month upgrade by UTC day: 10 days of small, 20 of big in a 30-day month', () => {
    const segments = planSegments('2026-11', [change('big', '2026-11-11')], plans, small);
    expect(segments.map((s) => [s.plan.id, s.from, s.to])).toEqual([
      ['small', '2026-11-01', '2026-11-10'],
      ['big', '2026-11-11', '2026-11-30'],
    ]);
    const st = buildStatement({
      tenantId: t,
      month: '2026-11',
      segments,
      // 150 jobs in small's days (100 included: 50 over at ½ cent = 25 cents), 2500 in big's (2066 included).
      records: [jobs('2026-11-05', 150), jobs('2026-11-20', 2500)],
      costMicros: 1_234_567,
      adjustments: [],
    });
    const fee = st.lines.filter((l) => l.kind === 'base_fee').map((l) => l.amount);
    expect(fee).toEqual([1000, roundRatio(31_000n * 20n, 30n, 'half-even')]); // $10.00, $206.67
    const usage = st.lines.filter((l) => l.kind === 'usage');
    expect(usage.map((l) => [l.included, l.overage, l.amount])).toEqual([
      [100, 50, 25],
      [2066, 434, 434],
    ]);
    expect(st.total).toBe(1000 + 20_667 + 25 + 434);
    expect(st.cost).toBe(123); // $1.234567 → 123 cents (half-even)
    expect(st.margin).toBe(st.total - 123);
  });

  it('a change effective on the 1st takes the whole month; February has 28 days', () => {
    const segments = planSegments('2027-02', [change('big', '2027-02-01')], plans, small);
    expect(segments).toHaveLength(1);
    const st = buildStatement({
      tenantId: t,
      month: '2027-02',
      segments,
      records: [],
      costMicros: 0,
      adjustments: [],
    });
    expect(st.lines[0]!.description).toContain('28 of 28 days');
    expect(st.lines[0]!.amount).toBe(31_000);
  });

  it('a change made later on the same day wins', () => {
    const a = { ...change('big', '2026-11-01'), createdAt: '2026-11-01T01:00:00.000Z' };
    const b = { ...change('small', '2026-11-01'), createdAt: '2026-11-01T02:00:00.000Z' };
    expect(planSegments('2026-11', [b, a], plans, big).map((s) => s.plan.id)).toEqual(['small']);
  });

  it('the default plans read back through the plans-file checker, and a bad file names its fields', () => {
    expect(parsePlansFile(JSON.stringify(DEFAULT_PLANS)).plans.map((p) => p.id)).toEqual([
      'free',
      'standard',
      'enterprise',
    ]);
    expect(() =>
      parsePlansFile('plans:\n  - id: x\n    name: X\n    tier: gold\n    currency: USD\n    baseFee: -1\n'),
    ).toThrow(/tier|baseFee/);
  });
});
