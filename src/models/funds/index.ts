import { roundMoney, type SummaryUnits } from '../round.ts';
import { schemaForTenant } from '../rules.ts';
import type { ModelDefinition, ProgressCallback } from '../types.ts';
import { adviseFunds, checkFunds, type FundsResult, periodLabels, runFunds } from './run.ts';
import { type FundsInput, fundsSchema } from './schema.ts';
import {
  type Distribution,
  mergeSimulationChunks,
  runFundsSimulationChunk,
  type SimulationChunk,
} from './simulation.ts';
import { FUNDS_SHEETS, fundsWorkbook } from './workbook.ts';

/** Below this many paths a simulation runs whole: splitting would cost more than it saves. */
const PARALLEL_FROM_PATHS = 2000;

const distributionOf = (unit: 'fraction' | 'multiple'): SummaryUnits => ({
  mean: unit,
  ...Object.fromEntries(['p5', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95'].map((p) => [p, unit])),
  histogram: [{ from: unit, to: unit }],
});
const band: SummaryUnits = [{ p10: 'money', p50: 'money', p90: 'money' }];

/**
 * What each summary figure measures. Only money is rounded per the tenant's rule: multiples (DPI, RVPI,
 * TVPI), IRRs, periods and path counts keep their precision.
 */
export const fundsSummaryUnits: SummaryUnits = {
  dpi: 'multiple',
  rvpi: 'multiple',
  tvpi: 'multiple',
  netIrr: 'fraction',
  grossIrr: 'fraction',
  paidIn: 'money',
  distributions: 'money',
  nav: 'money',
  totalFees: 'money',
  totalCarry: 'money',
  peakCapitalAtRisk: 'money',
  periods: [
    {
      contribution: 'money',
      distribution: 'money',
      nav: 'money',
      netCashFlow: 'money',
      cumulativeNetCashFlow: 'money',
    },
  ],
  simulation: {
    nav: band,
    netCashFlow: band,
    cumulativeNetCashFlowFan: [{ p5: 'money', p25: 'money', p50: 'money', p75: 'money', p95: 'money' }],
    tvpi: distributionOf('multiple'),
    irr: distributionOf('fraction'),
  },
};

export const fundsModel: ModelDefinition<FundsInput, FundsResult> = {
  name: 'funds',
  // 1.1: the Monte Carlo fan of cumulative net cash flow; the same input gives the same numbers.
  // 1.1.1: the invested fee basis is net of the cost of realised investments (docs/models.md, Fees).
  // 1.1.2: fees above the commitment and carry paid while LPs lose are warned (docs/models.md, Warnings).
  // 1.1.3: DPI, RVPI and TVPI over paid-in 0 are n/a, not 0 (docs/models.md, Multiples over paid-in 0).
  // 1.1.4: the workbook's live IRRs bracket the root on the model's grid (docs/models.md, IRRs).
  version: '1.1.4',
  title: 'Fund cash-flow projection',
  description:
    'Private-markets fund contributions, distributions and NAV (Takahashi & Alexander 2002), net of fees and carry, with optional Monte Carlo.',
  inputSchema: fundsSchema,
  check: checkFunds,
  advise: adviseFunds,
  // Work is one projection per path; a 12-period deterministic run is about one small DCF.
  cost: (input) =>
    Math.max(1, Math.ceil((input.fundLifeYears * input.periodsPerYear * (1 + input.simulations)) / 12)),
  costFields: ['simulations', 'fundLifeYears', 'periodsPerYear'],
  run: (input, _rules, onProgress) =>
    onProgress && input.simulations > 0
      ? runFunds(input, simulateReporting(input, onProgress))
      : runFunds(input),
  progress: {
    unit: 'paths',
    total: (input) => input.simulations,
    ofPart: (part) => (part as { count: number }).count,
  },
  // Paths are independent and seeded per path, so any split merges to the single-run result exactly.
  parallel: {
    plan: (input, cores) => {
      if (input.simulations < PARALLEL_FROM_PATHS || cores < 2) return [];
      const parts = Math.min(cores * 2, Math.ceil(input.simulations / 500));
      const size = Math.ceil(input.simulations / parts);
      const plan: { start: number; count: number }[] = [];
      for (let start = 0; start < input.simulations; start += size) {
        plan.push({ start, count: Math.min(size, input.simulations - start) });
      }
      return plan;
    },
    runPart: (input, part) => {
      const { start, count } = part as { start: number; count: number };
      return runFundsSimulationChunk(input, start, count);
    },
    combine: (input, _rules, parts) =>
      runFunds(input, mergeSimulationChunks(input, parts as SimulationChunk[])),
  },
  summary: (result, rules) => {
    const p = result.path;
    const labels = periodLabels(result);
    const finite = (x: number) => (Number.isFinite(x) ? x : null);
    const m = result.metrics;
    return roundMoney(
      {
        currency: result.currency,
        ...m,
        netIrr: finite(m.netIrr),
        grossIrr: finite(m.grossIrr),
        periods: labels.map((label, i) => ({
          period: label,
          contribution: p.lpContribution[i],
          distribution: p.lpDistribution[i],
          nav: p.lpNav[i],
          netCashFlow: p.netCashFlow[i],
          cumulativeNetCashFlow: p.cumNetCashFlow[i],
        })),
        warnings: result.warnings,
        simulation: result.simulation
          ? {
              ...result.simulation,
              tvpi: finiteStatistics(result.simulation.tvpi),
              irr: finiteStatistics(result.simulation.irr),
            }
          : null,
      },
      fundsSummaryUnits,
      rules.rounding,
    );
  },
  summaryUnits: fundsSummaryUnits,
  // The workbook validates by the schema the job's tenant rules shape, as the API did at submit: this
  // model's schema (a release that spreads it may have its own).
  workbook(result, input, formatting, provenance, rules) {
    return fundsWorkbook(
      result,
      input,
      formatting,
      provenance,
      schemaForTenant(this ?? fundsModel, rules ?? {}),
    );
  },
  sheetNames: FUNDS_SHEETS,
};

/** A distribution with NaN statistics (no path has the figure) as null, as the summary reports a missing IRR. */
function finiteStatistics<D extends Distribution>(d: D) {
  const stat = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    ...d,
    mean: stat(d.mean),
    p5: stat(d.p5),
    p10: stat(d.p10),
    p25: stat(d.p25),
    p50: stat(d.p50),
    p75: stat(d.p75),
    p90: stat(d.p90),
    p95: stat(d.p95),
  };
}

/** Paths per progress step of a run in one thread: small enough to report every few hundred milliseconds. */
const PROGRESS_CHUNK_PATHS = 200;

/**
 * The simulation in chunks, reporting the paths done after each. Paths are seeded per path, so the chunks
 * merge to exactly the single-run result (the same property the parallel plan relies on).
 */
function simulateReporting(input: FundsInput, onProgress: ProgressCallback) {
  const chunks: SimulationChunk[] = [];
  for (let start = 0; start < input.simulations; start += PROGRESS_CHUNK_PATHS) {
    const count = Math.min(PROGRESS_CHUNK_PATHS, input.simulations - start);
    chunks.push(runFundsSimulationChunk(input, start, count));
    onProgress(start + count, input.simulations);
  }
  return mergeSimulationChunks(input, chunks);
}
