import { describe, expect, it } from 'vitest';
import { type FundsResult, runFunds } from '../../src/models/funds/run.ts';
import type { FundsInput } from '../../src/models/funds/schema.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import { loadIntoEngine } from './engine.ts';
import { type ReadSheet, readXlsx } from './xlsx-read.ts';

// DPI, RVPI and TVPI are multiples of LP paid-in (ILPA; CFA Institute: DPI = cumulative distributions /
// paid-in capital). Over paid-in 0 they are undefined: the JSON said 0 and the workbook 0.00, a fund that
// "lost everything". Now null in the JSON and "n/a" in the workbook, as an IRR that does not exist.

const funds = getModel('funds');
const accepted = (raw: object) => resolveInput(funds, {}, raw).effectiveInput as FundsInput;
const problemsOf = (raw: object) => {
  try {
    resolveInput(funds, {}, raw);
    return [];
  } catch (e) {
    return (e as { problems: { path: string; message: string }[] }).problems;
  }
};
const summaryOf = (res: FundsResult) => funds.summary(res, {}) as Record<string, unknown>;

/** A fund whose calls are all 0 in floating point: 1 − 1e-17 is 1, so RC 1e-17 calls nothing. */
const callsNothing = (basis: 'committed' | 'invested' | 'nav', rate: number): FundsInput => ({
  ...accepted({ managementFee: { rate, basis } }),
  contributionRates: 1e-17,
});

async function sheetsOf(res: FundsResult, input: FundsInput) {
  return readXlsx(await funds.workbook(res, input, {})).sheets;
}

/** The cached (model) value and the recalculated (HyperFormula) value of the B cell beside `label`. */
function besideLabel(sheets: ReadSheet[], sheet: string, label: string) {
  const s = sheets.find((x) => x.name === sheet)!;
  const row = s.cells.find((c) => c.col === 0 && c.value === label)!.row;
  const cell = s.cells.find((c) => c.row === row && c.col === 1)!;
  const hf = loadIntoEngine(sheets);
  const recalculated = hf.getCellValue({ sheet: hf.getSheetId(sheet)!, row, col: 1 });
  hf.destroy();
  return { cached: cell.value, recalculated };
}

describe('funds: multiples of paid-in 0 are undefined, not 0', () => {
  it('the API refuses a fund whose rates call nothing in floating point, or whose commitment rounds every call to 0', () => {
    for (const managementFee of [
      { rate: 0, basis: 'committed' },
      { rate: 0.02, basis: 'nav' },
      { rate: 0.02, basis: 'committed' },
    ]) {
      for (const periodsPerYear of [1, 4]) {
        // 2e-16 calls some annually, but its quarterly root 1 − (1 − 2e-16)^(1/4) is 0 again.
        for (const contributionRates of [1e-17, [1e-17, 5e-17], 2e-16]) {
          if (periodsPerYear === 1 && contributionRates === 2e-16) continue;
          const raw = { contributionRates, managementFee, periodsPerYear };
          expect(
            problemsOf(raw).map((p) => p.path),
            JSON.stringify(raw),
          ).toEqual(['/input/contributionRates']);
        }
      }
    }
    expect(problemsOf({ commitment: 5e-324 }).map((p) => p.path)).toEqual(['/input/commitment']);
    expect(problemsOf({ commitment: 5e-324 })[0]!.message).toMatch(/too small/);
    // Small but real: each still calls capital.
    expect(problemsOf({ contributionRates: 2e-16 })).toEqual([]);
    expect(problemsOf({ contributionRates: 4e-16, periodsPerYear: 4 })).toEqual([]);
    expect(problemsOf({ commitment: 1e-300 })).toEqual([]);
  });

  it('paid-in 0 (a run outside the API): DPI, RVPI and TVPI are null in the summary, as a missing IRR', () => {
    for (const [basis, rate] of [
      ['nav', 0.02],
      ['invested', 0.02],
      ['committed', 0],
    ] as const) {
      const res = runFunds(callsNothing(basis, rate));
      expect(res.metrics.paidIn).toBe(0);
      const s = summaryOf(res);
      expect([s['dpi'], s['rvpi'], s['tvpi'], s['netIrr']], basis).toEqual([null, null, null, null]);
    }
    // Fees alone are paid in: the multiples exist, and are 0 (the LPs paid fees and got nothing back).
    const feesOnly = summaryOf(runFunds(callsNothing('committed', 0.02)));
    expect(feesOnly['paidIn']).toBeGreaterThan(0);
    expect([feesOnly['dpi'], feesOnly['tvpi']]).toEqual([0, 0]);
  });

  it('paid-in 0 with Monte Carlo: the TVPI and IRR distributions are null throughout (JSON) and "n/a" (Simulation sheet), not 0 and −100 %', async () => {
    const input = { ...callsNothing('nav', 0.02), simulations: 50 };
    const res = runFunds(input);
    const tvpi = (summaryOf(res)['simulation'] as { tvpi: Record<string, unknown> }).tvpi;
    expect([tvpi['mean'], tvpi['p5'], tvpi['p50'], tvpi['p95'], tvpi['histogram']]).toEqual([
      null,
      null,
      null,
      null,
      [],
    ]);
    // No money moved on any path: no IRR and no loss, so not counted as −100 %.
    const irr = (summaryOf(res)['simulation'] as { irr: Record<string, unknown> }).irr;
    expect([irr['mean'], irr['p50'], irr['pathsWithoutIrr']]).toEqual([null, null, 0]);
    const sim = (await sheetsOf(res, input)).find((s) => s.name === 'Simulation')!;
    for (const label of ['TVPI', 'Net IRR']) {
      const row = sim.cells.find((c) => c.col === 0 && c.value === label)!.row;
      const values = sim.cells.filter((c) => c.row === row && c.col > 0).map((c) => c.value);
      expect(values, label).toEqual(Array(8).fill('n/a'));
    }
  });

  it('paid-in 0: the workbook Summary shows "n/a" for DPI, RVPI and TVPI, cached and recalculated, and its Checks flag no capital called', async () => {
    const input = callsNothing('nav', 0.02);
    const sheets = await sheetsOf(runFunds(input), input);
    for (const label of ['DPI', 'RVPI', 'TVPI']) {
      expect(besideLabel(sheets, 'Summary', label), label).toEqual({ cached: 'n/a', recalculated: 'n/a' });
    }
    const called = besideLabel(
      sheets,
      'Checks',
      'Capital is called: contributions over the fund life above 0 (a contribution rate that calls some, or a last contribution year)',
    );
    expect(called).toEqual({ cached: false, recalculated: false });
  });

  it('a valid workbook edited to rates of 1e-17: the Summary multiples read "n/a" and the Checks fail', async () => {
    const input = accepted({ fundLifeYears: 4, managementFee: { rate: 0.02, basis: 'invested' } });
    const sheets = await sheetsOf(runFunds(input), input);
    const inputs = sheets.find((s) => s.name === 'Inputs')!;
    const hf = loadIntoEngine(sheets);
    for (let y = 1; y <= 4; y++) {
      const row = inputs.cells.find(
        (c) => c.col === 0 && c.value === `Rate of contribution (RC), fund year ${y}`,
      )!.row;
      hf.setCellContents({ sheet: hf.getSheetId('Inputs')!, row, col: 1 }, 1e-17);
    }
    const read = (sheet: string, label: string) => {
      const s = sheets.find((x) => x.name === sheet)!;
      const row = s.cells.find((c) => c.col === 0 && c.value === label)!.row;
      return hf.getCellValue({ sheet: hf.getSheetId(sheet)!, row, col: 1 });
    };
    expect(read('Summary', 'Paid-in (contributions + fees)')).toBe(0);
    expect(['DPI', 'RVPI', 'TVPI'].map((l) => read('Summary', l))).toEqual(['n/a', 'n/a', 'n/a']);
    expect(read('Checks', 'All checks pass')).toBe(false);
    hf.destroy();
  });

  it('per-period TVPI before the first call (no call in year 1, fees on invested capital) is NaN in the path and "n/a" on the Cash flows sheet', async () => {
    const input = accepted({
      contributionRates: [0, 0.5],
      periodsPerYear: 4,
      managementFee: { rate: 0.02, basis: 'invested' },
    });
    const res = runFunds(input);
    expect(Array.from(res.path.lpPaidIn.slice(0, 5))).toEqual([0, 0, 0, 0, expect.any(Number)]);
    expect(Array.from(res.path.tvpi.slice(0, 4)).every(Number.isNaN)).toBe(true);
    expect(res.path.tvpi[4]).toBeGreaterThan(0);
    const sheets = await sheetsOf(res, input);
    const flows = sheets.find((s) => s.name === 'Cash flows')!;
    const header = flows.cells.find((c) => c.value === 'TVPI')!;
    const hf = loadIntoEngine(sheets);
    const column = [1, 2, 3, 4, 5].map((t) => {
      const row = header.row + 1 + t;
      const cached = flows.cells.find((c) => c.row === row && c.col === header.col)!.value;
      return {
        cached,
        recalculated: hf.getCellValue({ sheet: hf.getSheetId('Cash flows')!, row, col: header.col }),
      };
    });
    hf.destroy();
    expect(column.slice(0, 4)).toEqual(Array(4).fill({ cached: 'n/a', recalculated: 'n/a' }));
    expect(column[4]!.cached).toBeCloseTo(res.path.tvpi[4]!, 12);
    expect(column[4]!.recalculated).toBeCloseTo(res.path.tvpi[4]!, 9);
  });
});
