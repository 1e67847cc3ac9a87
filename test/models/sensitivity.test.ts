import { describe, expect, it } from 'vitest';
import type { FinanceResult } from '../../src/models/finance/run.ts';
import { SENSITIVITY_OFFSETS, SENSITIVITY_STEPS } from '../../src/models/finance/sensitivity.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import { loadIntoEngine } from './engine.ts';
import { recomputeAndCompare } from './recompute.ts';
import { readXlsx } from './xlsx-read.ts';

// Issue 13, "what analysts ask for first": the exit-multiple terminal value and the WACC × terminal growth
// (and WACC × exit multiple) sensitivity tables, against hand computations and recomputed in HyperFormula.

const finance = getModel('finance');

function run(raw: Record<string, unknown>): FinanceResult {
  const { effectiveInput } = resolveInput(finance, {}, raw);
  expect(finance.check(effectiveInput)).toEqual([]);
  return finance.run(effectiveInput, {}) as FinanceResult;
}

/**
 * A company that does not grow: revenue 1000, EBITDA 300, D&A = capex = 50, no NWC, tax 25 % of EBIT 250:
 * FCF = 187.5 every year. Closed forms below, not the model's NPV.
 */
const flat = {
  revenue: 1000,
  revenueGrowth: 0,
  ebitdaMargin: 0.3,
  depreciationPctRevenue: 0.05,
  capexPctRevenue: 0.05,
  nwcPctRevenue: 0,
  taxRate: 0.25,
  discountRate: 0.1,
  terminalGrowth: 0.02,
  years: 5,
};
const annuity = (r: number, n: number) => (1 - (1 + r) ** -n) / r;
const close = (a: number, b: number) =>
  expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));

describe('exit-multiple terminal value (EV/EBITDA × last projected EBITDA)', () => {
  it('matches a hand computation: 5 years of 187.5 at 10 % plus 8 × 300 discounted 5 years', () => {
    const res = run({ ...flat, terminalMethod: 'exitMultiple', exitMultiple: 8 });
    expect(res.years.map((y) => y.freeCashFlow)).toEqual([187.5, 187.5, 187.5, 187.5, 187.5]);
    close(res.terminalValue, 2400);
    close(res.pvOfTerminalValue, 2400 / 1.1 ** 5);
    close(res.enterpriseValue, 187.5 * annuity(0.1, 5) + 2400 / 1.61051);
    // 2200.98: 710.77 of discounted flows and 1490.21 of discounted terminal value.
    expect(res.enterpriseValue).toBeCloseTo(2200.98369, 4);
    // The growth that makes Gordon give the same terminal value: 187.5 (1 + g) / (0.1 − g) = 2400.
    close(res.impliedTerminalGrowth!, (2400 * 0.1 - 187.5) / (2400 + 187.5));
    close((187.5 * (1 + res.impliedTerminalGrowth!)) / (0.1 - res.impliedTerminalGrowth!), 2400);
    close(res.impliedExitMultiple!, 8);
  });

  it('Gordon stays the default; its implied multiple is TV / EBITDA; mid-year still discounts TV n years', () => {
    const gordon = run(flat);
    expect(gordon.terminalMethod).toBe('gordon');
    close(gordon.terminalValue, (187.5 * 1.02) / 0.08);
    close(gordon.impliedExitMultiple!, (187.5 * 1.02) / 0.08 / 300);
    close(gordon.impliedTerminalGrowth!, 0.02);
    const mid = run({ ...flat, discounting: 'mid-year', terminalMethod: 'exitMultiple', exitMultiple: 8 });
    close(mid.pvOfTerminalValue, 2400 / 1.1 ** 5);
    close(mid.pvOfCashFlows, 187.5 * annuity(0.1, 5) * 1.1 ** 0.5);
  });

  it('does not apply the Gordon spread rule to an exit-multiple valuation; a loss of EBITDA is a warning', () => {
    const raw = { ...flat, discountRate: 0.03, terminalGrowth: 0.03 };
    expect(() => resolveInput(finance, {}, raw)).toThrow(/at least 0.5 percentage points/);
    const exit = run({ ...raw, terminalMethod: 'exitMultiple' });
    expect(Number.isFinite(exit.enterpriseValue)).toBe(true);
    const loss = run({ ...flat, ebitdaMargin: -0.1, terminalMethod: 'exitMultiple' });
    expect(loss.warnings.find((w) => w.code === 'terminal_cash_flow_negative')?.message).toMatch(
      /EBITDA is negative/,
    );
  });
});

describe('sensitivity tables: WACC × terminal growth and WACC × exit multiple', () => {
  it('every cell is the enterprise value the model gives at that pair; the centre is the EV', () => {
    const base = { ...flat, revenueGrowth: 0.04, discounting: 'mid-year', exitMultiple: 9 };
    const res = run(base);
    const { gordon, exitMultiple } = res.sensitivity;
    expect(gordon.rows).toEqual(SENSITIVITY_OFFSETS.map((k) => 0.1 + k * SENSITIVITY_STEPS.discountRate));
    expect(gordon.cols).toEqual(SENSITIVITY_OFFSETS.map((k) => 0.02 + k * SENSITIVITY_STEPS.terminalGrowth));
    expect(exitMultiple.cols).toEqual([7, 8, 9, 10, 11]);
    expect(gordon.ev[2]![2]).toBe(res.enterpriseValue);
    expect(run({ ...base, terminalMethod: 'exitMultiple' }).enterpriseValue).toBe(exitMultiple.ev[2]![2]);
    gordon.rows.forEach((r, i) => {
      gordon.cols.forEach((g, j) => {
        close(gordon.ev[i]![j]!, run({ ...base, discountRate: r, terminalGrowth: g }).enterpriseValue);
      });
      exitMultiple.cols.forEach((m, j) => {
        close(
          exitMultiple.ev[i]![j]!,
          run({ ...base, discountRate: r, terminalMethod: 'exitMultiple', exitMultiple: m }).enterpriseValue,
        );
      });
    });
  });

  it('a corner by hand: the flat company at WACC 8 % and growth 1 %', () => {
    const res = run(flat);
    // rows 8 … 12 %, cols 1 … 3 %: [0][0] is (8 %, 1 %).
    close(res.sensitivity.gordon.ev[0]![0]!, 187.5 * annuity(0.08, 5) + (187.5 * 1.01) / 0.07 / 1.08 ** 5);
    close(res.sensitivity.exitMultiple.ev[4]![0]!, 187.5 * annuity(0.12, 5) + (300 * 6) / 1.12 ** 5);
  });

  it('pairs without a meaningful value are null (spread under 0.5 points, a negative multiple)', () => {
    const res = run({ ...flat, discountRate: 0.03, terminalGrowth: 0.02, exitMultiple: 1 });
    // WACC 1 … 5 % against growth 1 … 3 %: a cell is defined when WACC − growth ≥ 0.5 points.
    const defined = res.sensitivity.gordon.ev.map((row) => row.map((x) => x !== null));
    // A spread of exactly 0.5 points (2 % − 1.5 %, 3 % − 2.5 %) is accepted, as by the input check.
    expect(defined).toEqual([
      [false, false, false, false, false],
      [true, true, false, false, false],
      [true, true, true, true, false],
      [true, true, true, true, true],
      [true, true, true, true, true],
    ]);
    expect(res.sensitivity.exitMultiple.ev.map((row) => row[0])).toEqual([null, null, null, null, null]);
  });

  it('the workbook tables are live: they recompute in HyperFormula, "n/a" included, and follow an edited WACC', async () => {
    for (const raw of [
      { ...flat, discountRate: 0.03, terminalGrowth: 0.02, exitMultiple: 1 },
      {
        ...flat,
        revenueGrowth: [0.1, 0.08, 0.06, 0.05, 0.04],
        terminalMethod: 'exitMultiple',
        exitMultiple: 10,
      },
    ]) {
      const { effectiveInput } = resolveInput(finance, {}, raw);
      const bytes = await finance.workbook(finance.run(effectiveInput, {}), effectiveInput, {});
      expect(recomputeAndCompare(bytes)).toBeGreaterThan(50);
    }
    const { effectiveInput } = resolveInput(finance, {}, flat);
    const { sheets } = readXlsx(await finance.workbook(finance.run(effectiveInput, {}), effectiveInput, {}));
    const dcf = sheets.find((s) => s.name === 'DCF')!;
    const title = dcf.cells.find((c) => c.value === 'Gordon growth: WACC (down) × terminal growth (across)')!;
    const hf = loadIntoEngine(sheets);
    const inputs = sheets.find((s) => s.name === 'Inputs')!;
    const wacc = inputs.cells.find((c) => c.col === 0 && c.value === 'Discount rate (WACC)')!;
    hf.setCellContents({ sheet: hf.getSheetId('Inputs')!, row: wacc.row, col: 1 }, 0.09);
    const grid = (row: number, col: number) =>
      hf.getCellValue({ sheet: hf.getSheetId('DCF')!, row: title.row + 2 + row, col: 2 + col });
    const after = run({ ...flat, discountRate: 0.09 }).sensitivity.gordon;
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) close(grid(i, j) as number, after.ev[i]![j]!);
    hf.destroy();
  });

  it('the API summary carries the method, the cross-checks and the tables (money rounded, rates not)', () => {
    const { effectiveInput } = resolveInput(finance, {}, { ...flat, terminalMethod: 'exitMultiple' });
    const summary = finance.summary(finance.run(effectiveInput, {}), { rounding: 0 }) as Record<
      string,
      unknown
    >;
    expect(summary['terminalMethod']).toBe('exitMultiple');
    expect(summary['impliedExitMultiple']).toBe(8);
    const table = (summary['sensitivity'] as { exitMultiple: { rows: number[]; ev: number[][] } })
      .exitMultiple;
    for (const [i, r] of [0.08, 0.09, 0.1, 0.11, 0.12].entries()) expect(table.rows[i]).toBeCloseTo(r, 15);
    expect(table.ev[2]![2]).toBe(2201);
  });
});
