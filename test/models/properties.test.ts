import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loanSchedule } from '../../src/models/finance/loan.ts';
import { irr, npv } from '../../src/models/finmath.ts';
import type { FundsResult } from '../../src/models/funds/run.ts';
import type { FundsInput } from '../../src/models/funds/schema.ts';
import { mergeSimulationChunks, runFundsSimulationChunk } from '../../src/models/funds/simulation.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';

const funds = getModel('funds');
const fundInput = (raw: object) => resolveInput(funds, {}, raw).effectiveInput as FundsInput;
const close = (a: number, b: number, rel = 1e-9) =>
  Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

const fundArb = fc.record({
  commitment: fc.double({ min: 1, max: 1e9, noNaN: true }),
  fundLifeYears: fc.integer({ min: 2, max: 20 }),
  bow: fc.double({ min: 0.5, max: 5, noNaN: true }),
  growthRate: fc.double({ min: -0.2, max: 0.4, noNaN: true }),
  yield: fc.double({ min: 0, max: 0.2, noNaN: true }),
  periodsPerYear: fc.constantFrom(1, 4),
  contributionRates: fc.double({ min: 0.05, max: 1, noNaN: true }),
  managementFee: fc.record({
    rate: fc.double({ min: 0, max: 0.03, noNaN: true }),
    basis: fc.constantFrom('committed', 'invested', 'nav'),
  }),
  carry: fc.record({
    rate: fc.double({ min: 0, max: 0.3, noNaN: true }),
    hurdleRate: fc.double({ min: 0, max: 0.12, noNaN: true }),
    catchUp: fc.double({ min: 0, max: 1, noNaN: true }),
    waterfall: fc.constantFrom('european', 'american'),
  }),
});

describe('properties', () => {
  it('doubling the commitment doubles every cash flow', () => {
    fc.assert(
      fc.property(fundArb, (raw) => {
        const a = funds.run(fundInput(raw), {}) as FundsResult;
        const b = funds.run(fundInput({ ...raw, commitment: raw.commitment * 2 }), {}) as FundsResult;
        for (const key of [
          'contribution',
          'distribution',
          'nav',
          'fee',
          'carry',
          'lpDistribution',
          'lpNav',
        ] as const) {
          a.path[key].forEach((v, i) => {
            const scale = Math.max(...a.path.lpPaidIn) * 2;
            expect(Math.abs(2 * v - b.path[key][i]!)).toBeLessThanOrEqual(1e-9 * scale);
          });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('TVPI = (distributions + NAV) / paid-in, every period and at the end DPI + RVPI', () => {
    fc.assert(
      fc.property(fundArb, (raw) => {
        const r = funds.run(fundInput(raw), {}) as FundsResult;
        let dist = 0;
        let paid = 0;
        r.path.tvpi.forEach((tvpi, i) => {
          dist += r.path.lpDistribution[i]!;
          paid += r.path.lpContribution[i]!;
          // Undefined (NaN) before anything is paid in, never a made-up 0.
          if (paid > 0) expect(close(tvpi, (dist + r.path.lpNav[i]!) / paid, 1e-9)).toBe(true);
          else expect(tvpi).toBeNaN();
        });
        // An accepted input calls capital (checkFunds), so its multiples exist.
        expect(close(r.metrics.tvpi!, r.metrics.dpi! + r.metrics.rvpi!)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('LPs and GP together receive exactly the gross distributions', () => {
    fc.assert(
      fc.property(fundArb, (raw) => {
        const r = funds.run(fundInput(raw), {}) as FundsResult;
        r.path.distribution.forEach((d, i) => {
          expect(r.path.carry[i]).toBeGreaterThanOrEqual(-1e-9 * Math.max(1, d));
          expect(close(r.path.lpDistribution[i]! + r.path.carry[i]!, d)).toBe(true);
        });
      }),
      { numRuns: 60 },
    );
  });

  // Session 20: which edge conditions warrant a warning. Distributions, NAV, their LP shares, fees and carry
  // cannot go negative for any input the schema accepts (rd ≤ 1 and 1 + g > 0 keep D within NAV·(1 + g); each
  // waterfall tier is a min or a share of what is left), so none needs one; over the schema's whole ranges.
  it('no flow, NAV, fee or carry is ever negative, over the schema ranges', () => {
    const wide = fc.record({
      commitment: fc.double({ min: 1e-3, max: 1e13, noNaN: true }),
      fundLifeYears: fc.integer({ min: 1, max: 30 }),
      bow: fc.double({ min: 0, max: 20, noNaN: true }),
      growthRate: fc.double({ min: -0.99, max: 2, noNaN: true }),
      yield: fc.double({ min: 0, max: 1, noNaN: true }),
      periodsPerYear: fc.constantFrom(1, 4),
      contributionRates: fc.double({ min: 0.01, max: 1, noNaN: true }),
      managementFee: fc.record({
        rate: fc.double({ min: 0, max: 0.1, noNaN: true }),
        basis: fc.constantFrom('committed', 'invested', 'nav'),
      }),
      carry: fc.record({
        rate: fc.double({ min: 0, max: 0.5, noNaN: true }),
        hurdleRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
        catchUp: fc.double({ min: 0, max: 1, noNaN: true }),
        waterfall: fc.constantFrom('european', 'american'),
      }),
    });
    fc.assert(
      fc.property(wide, (raw) => {
        const r = funds.run(fundInput(raw), {}) as FundsResult;
        const scale = Math.max(...r.path.lpPaidIn, ...r.path.distribution);
        for (const key of ['distribution', 'nav', 'fee', 'carry', 'lpDistribution', 'lpNav'] as const) {
          for (const v of r.path[key]) expect(v, key).toBeGreaterThanOrEqual(-1e-12 * scale);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('NPV at the computed IRR is 0 within tolerance', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 1e6, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (outlay, inflows) => {
          fc.pre(inflows.some((x) => x > 1e-3));
          const flows = [-outlay, ...inflows];
          const r = irr(flows, 0);
          // Near r = -1 the discount factors reach 1e6 and more; the NPV there is not a sum we can check.
          fc.pre(Number.isFinite(r) && r > -0.9);
          const total = outlay + inflows.reduce((s, x) => s + x, 0);
          expect(Math.abs(flows[0]! + npv(r, inflows))).toBeLessThanOrEqual(1e-7 * total);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a loan amortises exactly at every rate and term the schema allows (issue 13, kind 9)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-2, max: 1e15, noNaN: true }),
        fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 1e-12, max: 1, noNaN: true })),
        fc.oneof(fc.constant(600), fc.integer({ min: 1, max: 600 })),
        (principal, annualRate, termMonths) => {
          const s = loanSchedule({ principal, annualRate, termMonths, startDate: '2025-01-15' });
          const r = annualRate / 12;
          const L = Math.log1p(r);
          // Reference, written differently from the model: B_m = P·(1 − (1+r)^−(n−m)) / (1 − (1+r)^−n).
          const balance = (m: number) =>
            r === 0
              ? (principal * (termMonths - m)) / termMonths
              : (principal * Math.expm1(-(termMonths - m) * L)) / Math.expm1(-termMonths * L);
          const payment = r === 0 ? principal / termMonths : (principal * r) / -Math.expm1(-termMonths * L);
          expect(s.rows[termMonths - 1]!.closing).toBe(0);
          for (const row of s.rows) {
            expect(Math.abs(row.closing - balance(row.month))).toBeLessThanOrEqual(1e-12 * principal);
            expect(Math.abs(row.payment - payment)).toBeLessThanOrEqual(1e-9 * payment);
            expect(row.opening - row.principal).toBe(row.closing);
          }
          const repaid = s.rows.reduce((a, x) => a + x.principal, 0);
          expect(Math.abs(repaid - principal)).toBeLessThanOrEqual(1e-12 * principal * termMonths);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('100 % a year over 50 years: the balance stays near the principal and falls to 0 in the last years', () => {
    // By hand: q = 1 + 1/12; the payment is P·r/(1 − q^−600) = 83,333.33 on 1,000,000 (q^−600 = 1.4e-21),
    // and the balance 100 months before the end is P·(1 − q^−100) = 1,000,000 × (1 − 3.34e-4) = 999,665.6.
    const s = loanSchedule({ principal: 1_000_000, annualRate: 1, termMonths: 600, startDate: '2025-01-15' });
    expect(s.payment).toBeCloseTo(83_333.33, 2);
    expect(s.rows[499]!.closing).toBeCloseTo(1_000_000 * (1 - (1 + 1 / 12) ** -100), 4);
    expect(s.rows[599]!.closing).toBe(0);
    expect(s.rows[599]!.payment).toBeCloseTo(83_333.33, 2);
  });

  it('the same seed gives the same simulation, however the paths are split', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 2, max: 60 }),
        fc.integer({ min: 1, max: 59 }),
        (seed, n, cutRaw) => {
          const input = fundInput({ simulations: n, seed, growthVolatility: 0.3 });
          const cut = Math.min(n - 1, cutRaw);
          const once = mergeSimulationChunks(input, [runFundsSimulationChunk(input, 0, n)]);
          const again = mergeSimulationChunks(input, [runFundsSimulationChunk(input, 0, n)]);
          const split = mergeSimulationChunks(input, [
            runFundsSimulationChunk(input, cut, n - cut),
            runFundsSimulationChunk(input, 0, cut),
          ]);
          expect(again).toEqual(once);
          expect(split).toEqual(once);
        },
      ),
      { numRuns: 25 },
    );
  });
});
