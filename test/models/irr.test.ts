import fc from 'fast-check';
import { HyperFormula } from 'hyperformula';
import { describe, expect, it } from 'vitest';
import { irr, npv } from '../../src/models/finmath.ts';
import type { FundsResult } from '../../src/models/funds/run.ts';
import type { FundsInput } from '../../src/models/funds/schema.ts';
import { runFundsSimulationChunk } from '../../src/models/funds/simulation.ts';
import { investorIrr, irrRoots, signChanges } from '../../src/models/irr-roots.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';

const funds = getModel('funds');
const fundInput = (raw: object) => resolveInput(funds, {}, raw).effectiveInput as FundsInput;
const run = (raw: object) => funds.run(fundInput(raw), {}) as FundsResult;

/** IRR as an independent engine computes it, Newton from `guess` (HyperFormula's IRR). */
function engineIrr(flows: number[], guess: number): number | string {
  const hf = HyperFormula.buildFromArray(
    [[...flows, `=IRR(A1:${String.fromCharCode(64 + flows.length)}1,${guess})`]],
    {
      licenseKey: 'gpl-v3',
    },
  );
  const v = hf.getCellValue({ sheet: 0, row: 0, col: flows.length });
  hf.destroy();
  return typeof v === 'number' ? v : String((v as { type?: string }).type ?? v);
}

describe('every IRR of the flows, and the one consistent with the gain', () => {
  it('one sign change: one root, Microsoft IRR example (8.66 %)', () => {
    // https://support.microsoft.com/en-us/office/irr-function-64925eaa-9988-495b-b290-3ad0c163c1bc
    const flows = [-70000, 12000, 15000, 18000, 21000, 26000];
    expect(signChanges(flows)).toBe(1);
    expect(irrRoots(flows)).toHaveLength(1);
    expect(investorIrr(flows)).toBeCloseTo(0.0866, 4);
    expect(investorIrr(flows.slice(0, 5))).toBeCloseTo(-0.0212, 4);
  });

  it('-100, 230, -132 has the two IRRs 10 % and 20 %, and a loss of 2: none is consistent', () => {
    // By hand: NPV = -100 + 230v - 132v² with v = 1/(1+r); at v = 1/1.1: -100 + 209.0909 - 109.0909 = 0;
    // at v = 1/1.2: -100 + 191.6667 - 91.6667 = 0. The flows sum to -2, a loss, yet both rates are positive.
    const roots = irrRoots([-100, 230, -132]);
    expect(roots).toHaveLength(2);
    expect(roots[0]).toBeCloseTo(0.1, 12);
    expect(roots[1]).toBeCloseTo(0.2, 12);
    expect(investorIrr([-100, 230, -132])).toBeNaN();
    // A gain of 2 instead: -128v² + 230v - 100 = 0 gives v = (230 ± √1700) / 256, r = -5.62 % or +35.62 %;
    // the gain is positive, so the root above 0 is the one reported.
    const [low, high] = irrRoots([-100, 230, -128]);
    expect(low).toBeCloseTo(256 / (230 + Math.sqrt(1700)) - 1, 12);
    expect(high).toBeCloseTo(256 / (230 - Math.sqrt(1700)) - 1, 12);
    expect(investorIrr([-100, 230, -128])).toBe(high);
  });

  it('a single root equals Newton (Excel IRR) on flows with one sign change', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.double({ min: 1, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (out, back) => {
          const flows = [...out.map((x) => -x), ...back];
          const r = investorIrr(flows);
          const roots = irrRoots(flows);
          expect(roots.length).toBeLessThanOrEqual(1);
          if (!Number.isFinite(r)) return; // beyond the profile's edges (a rate above 1e6 or within 1e-6 of -1)
          expect(roots[0]).toBeCloseTo(r, 10);
          expect(Math.sign(r)).toBe(Math.sign(flows.reduce((a, b) => a + b, 0)));
          const newton = irr(flows, r);
          expect(Math.abs(newton - r)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(r)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('any flows: every root found zeroes the NPV, and the reported one has the sign of the total gain', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 2, maxLength: 30 }),
        (flows) => {
          const roots = irrRoots(flows);
          expect(roots.length).toBeLessThanOrEqual(signChanges(flows));
          const r = investorIrr(flows);
          if (Number.isFinite(r)) {
            expect(roots.some((x) => Math.abs(x - r) <= 1e-9 * Math.max(1, Math.abs(r)))).toBe(true);
            const total = flows.reduce((a, b) => a + b, 0);
            const first = Math.sign(flows.find((x) => x !== 0)!);
            expect(Math.sign(r)).toBe(total === 0 ? 0 : Math.sign(total) * -first);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('funds: the IRR reported is the one TVPI implies (issue 13, items 4–6)', () => {
  it('a fund with growth -10 %: TVPI 0.50, net IRR about -19 %, not the other root about -60 %', () => {
    const res = run({ growthRate: -0.1 });
    expect(res.metrics.tvpi).toBeCloseTo(0.497, 3);
    expect(res.metrics.netIrr).toBeCloseTo(-0.1908, 4);
    const flows = Array.from(res.path.netCashFlow);
    // HyperFormula's Newton reaches both roots from guesses beside them: the flows really have two.
    expect(engineIrr(flows, -0.2) as number).toBeCloseTo(-0.1908, 4);
    expect(engineIrr(flows, -0.6) as number).toBeCloseTo(-0.5989, 4);
    expect(res.warnings).toContainEqual(
      expect.objectContaining({ code: 'irr_multiple_roots', figure: 'netIrr' }),
    );
    expect(res.warnings.find((w) => w.figure === 'netIrr')!.message).toMatch(/-59\.89 %.*-19\.08 %/);
  });

  it('a fund with no IRR on the losing side says so; a plain fund has no warning', () => {
    const lost = run({ growthRate: -0.3 });
    expect(lost.metrics.netIrr).toBeNaN();
    expect(lost.warnings.map((w) => w.figure)).toContain('netIrr');
    expect((funds.summary(lost, {}) as { warnings: unknown[] }).warnings).toEqual(lost.warnings);
    expect(run({}).warnings).toEqual([]);
  });

  it('gross IRR of a losing fund is the growth rate (gross flows compound at G)', () => {
    // Without fees and carry every unit called grows at G until distributed, so the gross IRR is G.
    for (const periodsPerYear of [1, 4]) {
      expect(run({ growthRate: -0.3, periodsPerYear }).metrics.grossIrr).toBeCloseTo(-0.3, 9);
    }
  });

  it('Monte Carlo: each path reports the root nearest 0 on the side its TVPI implies', () => {
    const input = fundInput({ simulations: 400, growthVolatility: 0.3, growthRate: -0.05, seed: 7 });
    const chunk = runFundsSimulationChunk(input, 0, input.simulations);
    const N = chunk.periods;
    for (let k = 0; k < chunk.count; k++) {
      const irrK = chunk.irr[k]!;
      if (!Number.isFinite(irrK)) continue;
      expect(Math.sign(irrK)).toBe(Math.sign(chunk.tvpi[k]! - 1));
      // No other root between it and 0: the NPV keeps the sign it has at 0 all the way there.
      const flows = Array.from(chunk.netCashFlow.subarray(k * N, (k + 1) * N));
      const atZero = Math.sign(npv(0, flows));
      const perPeriod = (1 + irrK) ** (1 / input.periodsPerYear) - 1;
      for (let j = 1; j < 50; j++) expect(Math.sign(npv((perPeriod * j) / 50, flows))).toBe(atZero);
    }
  });

  it('Monte Carlo at high volatility: every path counted, a path without an IRR as -100 %', () => {
    const input = fundInput({ simulations: 400, growthVolatility: 1.2, growthRate: 0.05, seed: 7 });
    const chunk = runFundsSimulationChunk(input, 0, input.simulations);
    let without = 0;
    for (let k = 0; k < chunk.count; k++) {
      if (Number.isFinite(chunk.irr[k]!)) continue;
      without++;
      expect(chunk.tvpi[k]).toBeLessThan(1);
    }
    const sim = run(input).simulation!;
    expect(without).toBeGreaterThan(0);
    expect(sim.irr.pathsWithoutIrr).toBe(without);
    // The median path's IRR and TVPI agree: a median TVPI below 1 gives a median IRR below 0.
    expect(Math.sign(sim.irr.p50)).toBe(Math.sign(sim.tvpi.p50 - 1));
    const counted = sim.irr.histogram.reduce((a, b) => a + b.count, 0);
    expect(counted).toBe(input.simulations);
    if (without > input.simulations * 0.05) expect(sim.irr.p5).toBe(-1);
  });
});
