import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import type { FinanceResult } from '../../src/models/finance/run.ts';
import type { FinanceInput } from '../../src/models/finance/schema.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';

const finance = getModel('finance');
const resolve = (raw: object) => resolveInput(finance, {}, raw).effectiveInput as FinanceInput;
const run = (raw: object) => finance.run(resolve(raw), {}) as FinanceResult;

// Flat business: EBIT = 30% - 5% of 1000 = 250, tax 62.5, NOPAT 187.5; D&A = capex and no
// working capital, so FCF = 187.5 every year.
const flat = {
  revenue: 1000,
  revenueGrowth: 0,
  ebitdaMargin: 0.3,
  depreciationPctRevenue: 0.05,
  capexPctRevenue: 0.05,
  nwcPctRevenue: 0,
  taxRate: 0.25,
  discountRate: 0.1,
  terminalGrowth: 0,
  years: 5,
};

describe('finance DCF, hand-checkable cases', () => {
  it('an empty input is valid and runs on the defaults', () => {
    const res = run({});
    expect(res.years).toHaveLength(5);
    expect(res.enterpriseValue).toBeGreaterThan(0);
  });

  it('a flat perpetuity is worth FCF / r, whatever the explicit horizon', () => {
    for (const years of [1, 5, 30]) {
      const res = run({ ...flat, years });
      for (const y of res.years) expect(y.freeCashFlow).toBeCloseTo(187.5, 9);
      expect(res.enterpriseValue).toBeCloseTo(187.5 / 0.1, 8);
    }
  });

  it('explicit PV is the annuity 187.5 × (1 − 1.1^−5) / 0.1 and the terminal value 1875 / 1.1^5', () => {
    const res = run(flat);
    expect(res.pvOfCashFlows).toBeCloseTo((187.5 * (1 - 1.1 ** -5)) / 0.1, 9);
    expect(res.pvOfTerminalValue).toBeCloseTo(1875 / 1.1 ** 5, 9);
  });

  it('growth at the terminal rate gives the Gordon value from day one: FCF1 / (r − g)', () => {
    const res = run({ ...flat, revenueGrowth: 0.03, terminalGrowth: 0.03 });
    expect(res.years[0]!.freeCashFlow).toBeCloseTo(187.5 * 1.03, 9);
    expect(res.enterpriseValue).toBeCloseTo((187.5 * 1.03) / 0.07, 7);
  });

  it('mid-year discounting brings the explicit flows half a year closer, not the terminal value', () => {
    const end = run(flat);
    const mid = run({ ...flat, discounting: 'mid-year' });
    expect(mid.pvOfCashFlows).toBeCloseTo(end.pvOfCashFlows * 1.1 ** 0.5, 9);
    expect(mid.pvOfTerminalValue).toBe(end.pvOfTerminalValue);
  });

  it('working capital: 10% of revenue growing 10% costs 10 in year 1 (110 − 100)', () => {
    const res = run({ ...flat, nwcPctRevenue: 0.1, revenueGrowth: 0.1 });
    expect(res.years[0]!.changeInNwc).toBeCloseTo(10, 9);
  });

  it('equity value and value per share subtract net debt', () => {
    const res = run({ ...flat, netDebt: 875, sharesOutstanding: 100 });
    expect(res.equityValue).toBeCloseTo(1000, 8);
    expect(res.valuePerShare).toBeCloseTo(10, 9);
  });

  it('per-year growth rates apply year by year', () => {
    const res = run({ ...flat, years: 3, revenueGrowth: [0.1, 0.2, -0.5] });
    expect(res.years.map((y) => y.revenue)).toEqual([1100, 1320, 660].map((v) => expect.closeTo(v, 9)));
  });

  it('the loan payment equals Excel PMT and the schedule amortises to zero', () => {
    const res = run({
      loan: { principal: 10000, annualRate: 0.08, termMonths: 10, startDate: '2025-01-31' },
    });
    const loan = res.loan!;
    expect(loan.payment).toBeCloseTo(1037.03, 2); // Microsoft's PMT example, as a positive payment
    expect(loan.rows[9]!.closing).toBeCloseTo(0, 8);
    expect(loan.rows[0]!.interest).toBeCloseTo((10000 * 0.08) / 12, 10);
    expect(loan.totalInterest).toBeCloseTo(loan.payment * 10 - 10000, 8);
  });

  it('rejects inputs that make no sense with every problem named', () => {
    try {
      resolve({ terminalGrowth: 0.12, discountRate: 0.1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).status).toBe(400);
      expect((e as ValidationError).problems).toEqual([
        expect.objectContaining({ path: '/input/terminalGrowth', rule: 'terminalGrowth < discountRate' }),
      ]);
    }
    expect(() => resolve({ years: 3, revenueGrowth: [0.1, 0.1] })).toThrow(/one rate per projected year/);
    try {
      resolve({ years: 31, revenue: 'lots', colour: 'red' });
      expect.unreachable();
    } catch (e) {
      const paths = (e as ValidationError).problems.map((p) => p.path).sort();
      expect(paths).toEqual(['/input/colour', '/input/revenue', '/input/years']);
    }
  });
});
