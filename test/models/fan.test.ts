import { strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { runFunds } from '../../src/models/funds/run.ts';
import type { FundsInput } from '../../src/models/funds/schema.ts';
import { mergeSimulationChunks, runFundsSimulationChunk } from '../../src/models/funds/simulation.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import { recomputeAndCompare } from './recompute.ts';
import { readXlsx } from './xlsx-read.ts';

// Issue 13: a fan chart of the Monte Carlo percentiles over time for funds: per-year P5/P25/P50/P75/P95 of
// cumulative LP net cash flow, pure and deterministic for a seed, in the result, the workbook and the API.

const funds = getModel('funds');
const inputOf = (raw: object) => resolveInput(funds, {}, raw).effectiveInput as FundsInput;

/** Excel's PERCENTILE.INC as Microsoft documents it: rank (n − 1)·p, linear between neighbours. */
function percentileInc(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * (s[Math.min(s.length - 1, lo + 1)]! - s[lo]!);
}

describe('fan of cumulative LP net cash flow (Monte Carlo, per fund year)', () => {
  it('is each year-end percentile of the paths’ running sums, computed independently', () => {
    const input = inputOf({ simulations: 101, periodsPerYear: 4, fundLifeYears: 6, growthVolatility: 0.4 });
    const chunk = runFundsSimulationChunk(input, 0, input.simulations);
    const N = chunk.periods;
    const fan = mergeSimulationChunks(input, [chunk]).cumulativeNetCashFlowFan;
    expect(fan.map((p) => p.year)).toEqual([2025, 2026, 2027, 2028, 2029, 2030]);
    for (const [y, point] of fan.entries()) {
      const end = (y + 1) * 4; // periods up to the year's fourth quarter
      const sums = Array.from({ length: input.simulations }, (_, k) => {
        let s = 0;
        for (let t = 0; t < end; t++) s += chunk.netCashFlow[k * N + t]!;
        return s;
      });
      for (const [key, p] of [
        ['p5', 0.05],
        ['p25', 0.25],
        ['p50', 0.5],
        ['p75', 0.75],
        ['p95', 0.95],
      ] as const) {
        expect(point[key]).toBe(percentileInc(sums, p));
      }
      expect(point.p5).toBeLessThanOrEqual(point.p25);
      expect(point.p25).toBeLessThanOrEqual(point.p50);
      expect(point.p50).toBeLessThanOrEqual(point.p75);
      expect(point.p75).toBeLessThanOrEqual(point.p95);
    }
    // A J-curve's fan: wide and negative early, the median positive by the end at 13 % growth.
    expect(fan[0]!.p50).toBeLessThan(0);
    expect(fan[5]!.p50).toBeGreaterThan(0);
    expect(fan[5]!.p95 - fan[5]!.p5).toBeGreaterThan(fan[0]!.p95 - fan[0]!.p5);
  });

  it('is deterministic for a seed, the same on any chunk split, and another seed differs', () => {
    const input = inputOf({ simulations: 300, fundLifeYears: 10 });
    const whole = mergeSimulationChunks(input, [runFundsSimulationChunk(input, 0, 300)]);
    const split = mergeSimulationChunks(input, [
      runFundsSimulationChunk(input, 170, 130),
      runFundsSimulationChunk(input, 0, 170),
    ]);
    expect(split.cumulativeNetCashFlowFan).toEqual(whole.cumulativeNetCashFlowFan);
    expect(runFunds(input).simulation!.cumulativeNetCashFlowFan).toEqual(whole.cumulativeNetCashFlowFan);
    const other = runFunds({ ...input, seed: 2 }).simulation!.cumulativeNetCashFlowFan;
    expect(other).not.toEqual(whole.cumulativeNetCashFlowFan);
  });

  it('zero volatility collapses the fan onto the deterministic J-curve', () => {
    const input = inputOf({ simulations: 20, growthVolatility: 0, periodsPerYear: 4 });
    const res = runFunds(input);
    res.simulation!.cumulativeNetCashFlowFan.forEach((p, y) => {
      const want = res.path.cumNetCashFlow[(y + 1) * 4 - 1]!;
      for (const v of [p.p5, p.p25, p.p50, p.p75, p.p95]) {
        expect(Math.abs(v - want)).toBeLessThanOrEqual(1e-9 * input.commitment);
      }
    });
  });

  it('the workbook charts it as a fan: stacked bands on live width formulas, the median as a line', async () => {
    const { effectiveInput } = resolveInput(funds, {}, { simulations: 200, periodsPerYear: 4 });
    const result = funds.run(effectiveInput, {}) as ReturnType<typeof runFunds>;
    const bytes = await funds.workbook(result, effectiveInput, {});
    expect(recomputeAndCompare(bytes)).toBeGreaterThan(100);
    const { sheets, files } = readXlsx(bytes);
    const sim = sheets.find((s) => s.name === 'Simulation')!;
    const fan = result.simulation!.cumulativeNetCashFlowFan;
    const header = sim.cells.find((c) => c.value === 'P5–P25')!;
    const row = (y: number) => sim.cells.filter((c) => c.row === header.row + 1 + y);
    expect(row(0).find((c) => c.col === 1)!.value).toBe(fan[0]!.p5);
    expect(row(11).find((c) => c.col === 5)!.value).toBe(fan[11]!.p95);
    expect(row(11).find((c) => c.col === 8)!.formula).toBe(`D${header.row + 13}-C${header.row + 13}`);
    const chart = Object.keys(files)
      .filter((n) => n.startsWith('xl/charts/'))
      .map((n) => strFromU8(files[n]!))
      .find((x) => x.includes('areaChart'))!;
    expect(chart).toContain('<c:grouping val="stacked"/>');
    // The invisible base is out of the legend; the four bands and the median line are in it.
    expect(chart).toContain('<c:legendEntry><c:idx val="0"/><c:delete val="1"/></c:legendEntry>');
    expect(chart.match(/<c:ser>/g)).toHaveLength(6);
    expect(chart).toMatch(/<c:lineChart>.*Median \(P50\).*&apos;Simulation&apos;!\$D\$\d+:\$D\$\d+/);
    expect(chart).toContain('<a:noFill/>');
    expect(chart).toContain('<a:alpha val="35000"/>');
  });

  it('the API summary carries the fan with money rounded by the tenant rule', () => {
    const { effectiveInput } = resolveInput(funds, {}, { simulations: 50 });
    const summary = funds.summary(funds.run(effectiveInput, {}), { rounding: 0 }) as {
      simulation: { cumulativeNetCashFlowFan: { year: number; p50: number }[] };
    };
    const fan = summary.simulation.cumulativeNetCashFlowFan;
    expect(fan).toHaveLength(12);
    expect(fan[0]!.year).toBe(2025);
    expect(Number.isInteger(fan[3]!.p50)).toBe(true);
  });
});
