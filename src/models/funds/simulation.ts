import { percentileSorted } from '../finmath.ts';
import { investorIrr } from '../irr-roots.ts';
import { newPath, projectFund } from './project.ts';
import { annualise, type PeriodRates, periodRates, perPeriodGrowth } from './rates.ts';
import type { FundsInput } from './schema.ts';

/**
 * Monte Carlo on portfolio growth. Each path draws its own generator from (seed, path index), so
 * paths do not depend on which other paths ran before them: splitting N paths into chunks across
 * workers and merging gives bit-for-bit the single-run result.
 */
export interface SimulationChunk {
  startPath: number;
  count: number;
  periods: number;
  /** Path-major: value of path p at period t is at p * periods + t. */
  lpNav: Float64Array;
  netCashFlow: Float64Array;
  tvpi: Float64Array;
  /** Annualised net IRR per path; NaN where a path has none. */
  irr: Float64Array;
}

export interface Band {
  p10: number;
  p50: number;
  p90: number;
}

export interface Distribution {
  mean: number;
  p5: number;
  p10: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  /** Equal-width bins between min and max. */
  histogram: { from: number; to: number; count: number }[];
}

/** Percentiles over every path of one figure at the end of one fund year: a slice of the fan chart. */
export interface FanPoint {
  /** Calendar year whose end the percentiles are taken at. */
  year: number;
  p5: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
}

export interface SimulationSummary {
  paths: number;
  seed: number;
  nav: Band[];
  netCashFlow: Band[];
  /**
   * Cumulative LP net cash flow (the J-curve) at the end of each fund year, P5 … P95 over every path: the
   * fan chart. Each path's running sum adds its periods in order, as the deterministic J-curve does.
   */
  cumulativeNetCashFlowFan: FanPoint[];
  /** Over the paths with a TVPI (see `mergeSimulationChunks`); NaN throughout when no path paid anything in. */
  tvpi: Distribution;
  /**
   * Over every path that paid something in (all of them for any input the API accepts). A path without an IRR is a loss (a gain always has a root above 0) with no negative
   * rate at which its NPV is 0, so it counts as −100 %, the floor of IRR, rather than leaving the
   * statistics; how many did so is reported beside.
   */
  irr: Distribution & { pathsWithoutIrr: number };
}

/** mulberry32: a small, fast 32-bit generator with good equidistribution for simulation use. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** splitmix32-style hash: decorrelates the per-path seeds of neighbouring paths. */
export function pathSeed(seed: number, path: number): number {
  let z = (seed ^ Math.imul(path + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Lognormal per-period growth with mean (1 + G)^(1/P) and annual volatility σ (σ/√P per period). */
function growthPath(input: FundsInput, rates: PeriodRates, path: number, out: Float64Array): void {
  const P = rates.perYear;
  const sigma = input.growthVolatility / Math.sqrt(P);
  const mu = Math.log(1 + perPeriodGrowth(input.growthRate, P)) - (sigma * sigma) / 2;
  const rand = mulberry32(pathSeed(input.seed, path));
  for (let i = 0; i < out.length; i += 2) {
    // Box–Muller gives two independent normals per pair of uniforms.
    const u1 = 1 - rand();
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = Math.exp(mu + sigma * r * Math.cos(2 * Math.PI * u2)) - 1;
    if (i + 1 < out.length) out[i + 1] = Math.exp(mu + sigma * r * Math.sin(2 * Math.PI * u2)) - 1;
  }
}

/** Paths [startPath, startPath + count) of the simulation: the unit of work a worker thread runs. */
export function runFundsSimulationChunk(
  input: FundsInput,
  startPath: number,
  count: number,
): SimulationChunk {
  const rates = periodRates(input);
  const N = rates.periods;
  const chunk: SimulationChunk = {
    startPath,
    count,
    periods: N,
    lpNav: new Float64Array(count * N),
    netCashFlow: new Float64Array(count * N),
    tvpi: new Float64Array(count),
    irr: new Float64Array(count),
  };
  const growth = new Float64Array(N);
  // One path buffer reused for every path: allocation, not arithmetic, dominated the per-path cost.
  const p = newPath(N);
  for (let k = 0; k < count; k++) {
    growthPath(input, rates, startPath + k, growth);
    projectFund(input, rates, growth, p);
    chunk.lpNav.set(p.lpNav, k * N);
    chunk.netCashFlow.set(p.netCashFlow, k * N);
    chunk.tvpi[k] = p.tvpi[N - 1]!;
    chunk.irr[k] = annualise(investorIrr(Array.from(p.netCashFlow)), rates.perYear);
  }
  return chunk;
}

/** Combines chunks covering paths 0 … N−1 (in any order) into the reported bands and distributions. */
export function mergeSimulationChunks(
  input: FundsInput,
  chunks: readonly SimulationChunk[],
): SimulationSummary {
  const sorted = [...chunks].sort((a, b) => a.startPath - b.startPath);
  let next = 0;
  for (const c of sorted) {
    if (c.startPath !== next) throw new Error(`simulation chunks leave a gap or overlap at path ${next}`);
    next += c.count;
  }
  if (next !== input.simulations)
    throw new Error(`simulation chunks cover ${next} of ${input.simulations} paths`);
  const N = sorted[0]?.periods ?? periodRates(input).periods;
  const M = input.simulations;
  const column = new Float64Array(M);
  const bands = (field: 'lpNav' | 'netCashFlow'): Band[] =>
    Array.from({ length: N }, (_, t) => {
      let j = 0;
      for (const c of sorted) {
        const values = c[field];
        for (let k = 0; k < c.count; k++) column[j++] = values[k * N + t]!;
      }
      column.sort();
      return {
        p10: percentileSorted(column, 0.1),
        p50: percentileSorted(column, 0.5),
        p90: percentileSorted(column, 0.9),
      };
    });
  const concat = (field: 'tvpi' | 'irr') => {
    const all = new Float64Array(M);
    let j = 0;
    for (const c of sorted) {
      all.set(c[field], j);
      j += c.count;
    }
    return all;
  };
  const tvpis = concat('tvpi');
  const irrs = concat('irr');
  // A path that paid nothing in (TVPI NaN) moved no money: it has no IRR and is no loss, so it is left out
  // rather than counted as −100 %.
  const invested = irrs.filter((_, i) => Number.isFinite(tvpis[i]!));
  let withoutIrr = 0;
  for (let i = 0; i < invested.length; i++) {
    if (!Number.isFinite(invested[i]!)) {
      invested[i] = -1;
      withoutIrr++;
    }
  }
  return {
    paths: M,
    seed: input.seed,
    nav: bands('lpNav'),
    netCashFlow: bands('netCashFlow'),
    cumulativeNetCashFlowFan: fan(input, sorted, N),
    // A path's TVPI is NaN when it has paid in nothing (undefined, not 0): left out, as no multiple. Paid-in does
    // not depend on growth (calls never do, and fees on NAV or invested capital are 0 without them), so either
    // every path has one or none has, and then every figure is NaN (null in the JSON, "n/a" in the workbook).
    tvpi: distribution(tvpis.filter(Number.isFinite)),
    irr: { ...distribution(invested), pathsWithoutIrr: withoutIrr },
  };
}

/** Year-end percentiles of each path's cumulative net cash flow, from chunks in path order. */
function fan(input: FundsInput, chunks: readonly SimulationChunk[], N: number): FanPoint[] {
  const P = N / input.fundLifeYears;
  const cumulative = new Float64Array(input.simulations);
  const sorted = new Float64Array(input.simulations);
  const points: FanPoint[] = [];
  for (let t = 0; t < N; t++) {
    let j = 0;
    for (const c of chunks) for (let k = 0; k < c.count; k++) cumulative[j++]! += c.netCashFlow[k * N + t]!;
    if ((t + 1) % P !== 0) continue;
    sorted.set(cumulative);
    sorted.sort();
    const q = (p: number) => percentileSorted(sorted, p);
    points.push({
      year: input.vintageYear + (t + 1) / P - 1,
      p5: q(0.05),
      p25: q(0.25),
      p50: q(0.5),
      p75: q(0.75),
      p95: q(0.95),
    });
  }
  return points;
}

export function runFundsSimulation(input: FundsInput): SimulationSummary {
  return mergeSimulationChunks(input, [runFundsSimulationChunk(input, 0, input.simulations)]);
}

function distribution(values: Float64Array): Distribution {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  let total = 0;
  for (const v of s) total += v;
  const min = s[0] ?? 0;
  const max = s[n - 1] ?? 0;
  const bins = 20;
  const width = (max - min) / bins || 1;
  const histogram = Array.from({ length: bins }, (_, i) => ({
    from: min + i * width,
    to: min + (i + 1) * width,
    count: 0,
  }));
  for (const v of s) histogram[Math.min(bins - 1, Math.floor((v - min) / width))]!.count++;
  const q = (p: number) => percentileSorted(s, p);
  return {
    mean: n ? total / n : NaN,
    p5: q(0.05),
    p10: q(0.1),
    p25: q(0.25),
    p50: q(0.5),
    p75: q(0.75),
    p90: q(0.9),
    p95: q(0.95),
    histogram: n ? histogram : [],
  };
}
