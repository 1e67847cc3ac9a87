import { describe, expect, it } from 'vitest';
import type { FundsResult } from '../../src/models/funds/run.ts';
import type { FundsInput } from '../../src/models/funds/schema.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import { loadIntoEngine } from './engine.ts';
import { fee, fund, SUMMARY_IRRS } from './funds-raw.ts';
import { irrByBisection } from './irr-bisection.ts';
import { readXlsx } from './xlsx-read.ts';

const funds = getModel('funds');
const fundInput = (raw: object) => resolveInput(funds, {}, raw).effectiveInput as FundsInput;

describe('funds Summary IRRs after edits to IRRs far from the job’s (HyperFormula)', () => {
  // Session 24: the live IRR tried IRR from the job's root, 0 and −50 % per period; edits that took the IRR to
  // about −60 % a year or below read "n/a", and one gave −100 % (a false root) for flows whose IRR is −50 %.
  const cases: [string, object, [string, number][], object][] = [
    [
      'growth −99 %, annual',
      { fundLifeYears: 11, periodsPerYear: 1, growthRate: 0, ...fee(0, 'nav') },
      [
        ['Growth rate (G)', -0.99],
        ['Management fee', 2.6e-7],
      ],
      { fundLifeYears: 11, periodsPerYear: 1, growthRate: -0.99, ...fee(2.6e-7, 'nav') },
    ],
    [
      'growth −99 %, quarterly',
      { fundLifeYears: 6, periodsPerYear: 4, growthRate: 0.41, ...fee(0) },
      [['Growth rate (G)', -0.99]],
      { fundLifeYears: 6, periodsPerYear: 4, growthRate: -0.99, ...fee(0) },
    ],
    [
      'growth −99 % and fees 10 % of invested, quarterly over 19 years',
      fund(19, 0.013, 4, -0.91, fee(0, 'invested')),
      [
        ['Growth rate (G)', -0.99],
        ['Management fee', 0.1],
      ],
      fund(19, 0.013, 4, -0.99, fee(0.1, 'invested')),
    ],
    [
      'fees 10 % a year over two years (net −50 %, gross 0)',
      { fundLifeYears: 2, contributionRates: 0.3, periodsPerYear: 1, growthRate: 0, ...fee(0) },
      [['Management fee', 0.1]],
      { fundLifeYears: 2, contributionRates: 0.3, periodsPerYear: 1, growthRate: 0, ...fee(0.1) },
    ],
    [
      'growth 0 → 150 % (a gain far above the job’s root)',
      fund(10, 0.3, 4, 0, fee(0.02)),
      [['Growth rate (G)', 1.5]],
      fund(10, 0.3, 4, 1.5, fee(0.02)),
    ],
  ];
  it.each(cases)(
    '%s: the net and gross IRR are the flows’ IRR, as the API reports it',
    async (_, raw, edits, editedRaw) => {
      const input = fundInput(raw);
      const { sheets } = readXlsx(await funds.workbook(funds.run(input, {}), input, {}));
      const hf = loadIntoEngine(sheets);
      const rowOf = (sheet: string, label: string) =>
        sheets.find((s) => s.name === sheet)!.cells.find((c) => c.col === 0 && c.value === label)!.row;
      for (const [label, value] of edits) {
        hf.setCellContents({ sheet: hf.getSheetId('Inputs')!, row: rowOf('Inputs', label), col: 1 }, value);
      }
      const flowsSheet = sheets.find((s) => s.name === 'Cash flows')!;
      const headerRow = rowOf('Cash flows', 'Period t');
      const column = (title: string) => {
        const col = flowsSheet.cells.find((c) => c.row === headerRow && c.value === title)!.col;
        const rows = flowsSheet.cells.filter((c) => c.col === col && c.row > headerRow + 1).map((c) => c.row);
        return rows.map(
          (row) => hf.getCellValue({ sheet: hf.getSheetId('Cash flows')!, row, col }) as number,
        );
      };
      const api = funds.run(fundInput(editedRaw), {}) as FundsResult;
      const P = api.rates.perYear;
      for (const [label, title, metric] of SUMMARY_IRRS) {
        const want = api.metrics[metric];
        const expected = (1 + irrByBisection(column(title))) ** P - 1;
        const got = hf.getCellValue({
          sheet: hf.getSheetId('Summary')!,
          row: rowOf('Summary', label),
          col: 1,
        });
        expect.soft(got, label).toBeTypeOf('number');
        expect
          .soft(Math.abs((got as number) - expected), `${label}: ${String(got)} vs ${expected}`)
          .toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
        expect
          .soft(Math.abs(want - expected), `${label}: API ${want} vs ${expected}`)
          .toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
      }
      hf.destroy();
    },
  );
});

describe('the IRR solver’s formulas stay within Excel’s limits', () => {
  it('at most 8,192 characters and 64 nested levels, for the longest life and sheet name', async () => {
    // Excel's specifications and limits: formula contents 8,192 characters, 64 levels of nested functions.
    const input = fundInput({ fundLifeYears: 30, contributionRates: 0.2, periodsPerYear: 4 });
    const formatting = { sheetNames: { 'Cash flows': 'C'.repeat(31) } };
    const { sheets } = readXlsx(await funds.workbook(funds.run(input, {}), input, formatting));
    const formulas = sheets.flatMap((s) =>
      s.cells.flatMap((c) => (c.formula === undefined ? [] : [c.formula])),
    );
    const depth = (f: string) => {
      let d = 0;
      let most = 0;
      for (const ch of f)
        if (ch === '(') most = Math.max(most, ++d);
        else if (ch === ')') d--;
      return most;
    };
    expect(formulas.some((f) => f.includes('IRR('))).toBe(true);
    expect(Math.max(...formulas.map((f) => f.length))).toBeLessThanOrEqual(8192);
    expect(Math.max(...formulas.map(depth))).toBeLessThanOrEqual(64);
  });
});
