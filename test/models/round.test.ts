import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getModel } from '../../src/models/registry.ts';
import { roundHalfAwayFromZero, roundMoney } from '../../src/models/round.ts';
import { resolveInput } from '../../src/models/rules.ts';

// Microsoft's ROUND examples:
// https://support.microsoft.com/en-us/office/round-function-c018c5d8-40fb-4053-90b1-b3e7f61a213c
describe('roundHalfAwayFromZero is Excel ROUND', () => {
  it("matches Microsoft's documented examples", () => {
    expect(roundHalfAwayFromZero(2.15, 1)).toBe(2.2);
    expect(roundHalfAwayFromZero(2.149, 1)).toBe(2.1);
    expect(roundHalfAwayFromZero(-1.475, 2)).toBe(-1.48);
    expect(roundHalfAwayFromZero(21.5, -1)).toBe(20);
    expect(roundHalfAwayFromZero(626.3, -3)).toBe(1000);
    expect(roundHalfAwayFromZero(1.98, -1)).toBe(0);
    expect(roundHalfAwayFromZero(-50.55, -2)).toBe(-100);
  });

  it('rounds halves away from zero on the decimal value (issue 13, item 7)', () => {
    // 1.015 is stored as 1.0149999999999999023…, so Math.round(1.015 * 100) / 100 gives 1.01.
    expect(roundHalfAwayFromZero(1.015, 2)).toBe(1.02);
    expect(roundHalfAwayFromZero(-2.5, 0)).toBe(-3);
    expect(roundHalfAwayFromZero(2.5, 0)).toBe(3);
    expect(roundHalfAwayFromZero(1.005, 2)).toBe(1.01);
    expect(roundHalfAwayFromZero(-0.0049, 2)).toBe(0);
    expect(Object.is(roundHalfAwayFromZero(-0.0049, 2), -0)).toBe(false);
    expect(roundHalfAwayFromZero(1e20, 2)).toBe(1e20);
    expect(roundHalfAwayFromZero(Number.NaN, 2)).toBeNaN();
  });

  it('equals a BigInt reference on every decimal of up to 15 significant digits', () => {
    // Reference: the decimal N / 10^k rounded to d places with integer arithmetic only.
    const reference = (n: bigint, k: number, d: number): number => {
      if (d >= k) return Number(`${n}e-${k}`);
      const unit = 10n ** BigInt(k - d);
      const neg = n < 0n;
      const abs = neg ? -n : n;
      let q = abs / unit;
      if (2n * (abs % unit) >= unit) q += 1n;
      return Number(`${neg ? -q : q}e-${d}`);
    };
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n) + 1n, max: 10n ** 15n - 1n }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 10 }),
        (n, k, d) => {
          const x = Number(`${n}e-${k}`);
          expect(roundHalfAwayFromZero(x, d) + 0).toBe(reference(n, k, d) + 0);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('half a cent above any amount up to a million rounds away from zero, either sign', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000_000 }), fc.boolean(), (cents, negative) => {
        const sign = negative ? '-' : '';
        const x = Number(`${sign}${cents}5e-3`); // e.g. 1234.565 as decimal text
        expect(roundHalfAwayFromZero(x, 2)).toBe(Number(`${sign}${cents + 1}e-2`));
      }),
    );
  });

  // Session 17: from |x| · 10^decimals ≥ 10^14 the 15-digit reading has no digit past the rounding position.
  // Before, 2^51 + 0.5 went to 2^51 + 2, anything at or above 2^52 / 10^decimals came back unrounded, and below that the
  // reading itself was rounded, moving 4000000000000001 to 4e15 and 12345678901234.564 to .6 at 2 places.
  it('rounds at magnitudes from 10^14 to past 2^53 to the nearest step, halves away from zero, either sign', () => {
    const big = 2 ** 51; // the last binade with halves: 2^51 + 0.5 is a double, 2^52 + 0.5 is not
    expect(roundHalfAwayFromZero(big + 0.5, 0)).toBe(big + 1);
    expect(roundHalfAwayFromZero(-(big + 0.5), 0)).toBe(-(big + 1));
    expect(roundHalfAwayFromZero(big + 1.5, 0)).toBe(big + 2);
    expect(roundHalfAwayFromZero(2 ** 52 + 1, 0)).toBe(2 ** 52 + 1);
    expect(roundHalfAwayFromZero(2 ** 53 + 2, 0)).toBe(2 ** 53 + 2);
    expect(roundHalfAwayFromZero(4000000000000001, 0)).toBe(4000000000000001);
    expect(roundHalfAwayFromZero(-1000000000000000.5, 0)).toBe(-1000000000000001);
    // 45035996273704 + 57/128 (just past 2^52 / 100, shown as …704.445): to cents it is .45, not itself.
    const cents = 45035996273704 + 57 / 128;
    expect(String(cents)).toBe('45035996273704.445');
    expect(roundHalfAwayFromZero(cents, 2)).toBe(45035996273704.45);
    expect(String(roundHalfAwayFromZero(-cents, 2))).toBe('-45035996273704.45');
    // 12345678901234.565 is stored as …234.564453125 (289/512): to cents .56, never the 15-digit reading's .6.
    expect(roundHalfAwayFromZero(12345678901234 + 289 / 512, 2)).toBe(12345678901234.56);
    expect(roundHalfAwayFromZero(1e20 + 2 ** 15, 2)).toBe(1e20 + 2 ** 15);
    expect(roundHalfAwayFromZero(1.5e300, 10)).toBe(1.5e300);
    expect(roundHalfAwayFromZero(5e-324, 10)).toBe(0);
  });

  it('any double: the result is within half a step (and the reading) of x, and rounds to itself', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: 0, max: 10 }),
        (x, d) => {
          const r = roundHalfAwayFromZero(x, d);
          const step = 10 ** -d;
          const ulp = Math.abs(x) * 2 ** -52;
          expect(Math.abs(r - x)).toBeLessThanOrEqual(0.55 * step + 2 * ulp);
          expect(roundHalfAwayFromZero(r, d)).toBe(r);
          expect(Math.sign(r) === 0 || Math.sign(r) === Math.sign(x)).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('the tenant rounding rule applies to money only', () => {
  const finance = getModel('finance');
  const funds = getModel('funds');

  it('finance: EV and cash flows rounded, years untouched', () => {
    const { effectiveInput } = resolveInput(finance, {}, { sharesOutstanding: 7 });
    const result = finance.run(effectiveInput, {});
    const full = finance.summary(result, {}) as Record<string, unknown>;
    const rounded = finance.summary(result, { rounding: 2 }) as typeof full;
    expect(rounded['enterpriseValue']).toBe(roundHalfAwayFromZero(full['enterpriseValue'] as number, 2));
    expect(rounded['valuePerShare']).toBe(roundHalfAwayFromZero(full['valuePerShare'] as number, 2));
    const fcf = rounded['freeCashFlow'] as { year: number; value: number }[];
    expect(fcf[0]!.year).toBe(2025);
    expect(Number.isInteger(fcf[0]!.value * 100)).toBe(true);
  });

  it('funds: IRRs and multiples stay exact at 2 and at 0 places; money is rounded', () => {
    const { effectiveInput } = resolveInput(funds, {}, { simulations: 50 });
    const result = funds.run(effectiveInput, {});
    const full = funds.summary(result, {}) as Record<string, number> & {
      simulation: { tvpi: { p50: number } };
    };
    for (const rounding of [0, 2]) {
      const r = funds.summary(result, { rounding }) as typeof full;
      expect(r['netIrr']).toBe(full['netIrr']);
      expect(r['grossIrr']).toBe(full['grossIrr']);
      expect(r['tvpi']).toBe(full['tvpi']);
      expect(r['dpi']).toBe(full['dpi']);
      expect(r.simulation.tvpi.p50).toBe(full.simulation.tvpi.p50);
      expect(r['paidIn']).toBe(roundHalfAwayFromZero(full['paidIn']!, rounding));
      expect(r['totalFees']).toBe(roundHalfAwayFromZero(full['totalFees']!, rounding));
    }
    expect(Number.isInteger(full['tvpi'])).toBe(false);
  });

  it('a figure the units do not name keeps its precision', () => {
    expect(roundMoney({ a: 1.234, b: [1.234], c: { d: 1.234 } }, { a: 'money' }, 1)).toEqual({
      a: 1.2,
      b: [1.234],
      c: { d: 1.234 },
    });
  });
});
