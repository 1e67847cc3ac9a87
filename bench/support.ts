import { execFile } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export interface LoadResult {
  requests: number;
  errors: number;
  perSec: number;
  p50: number;
  p99: number;
}

/** Load from another process: wrk when available, else bench/load.ts (fetch loops, much heavier per request). */
export async function loadTest(spec: {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationMs: number;
  expectStatus: number;
}): Promise<LoadResult> {
  const { findWrk, wrkLoad } = await import('./wrk.ts');
  const wrk = findWrk();
  if (wrk) return wrkLoad(wrk, spec);
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', new URL('./load.ts', import.meta.url).pathname, JSON.stringify(spec)],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * Jobs each side of an end-to-end comparison runs before its timed part, per function thread
 * (`BENCH_WARMUP`, default 3,000). Both sides get the same count. Session 6 measured why it is this many:
 * CPU per small job kept falling over the first ~6,000 jobs on both sides (quiet machine:
 * Silopool 6.8 → 2.6 core-ms, the plain loop 2.0 → 0.75: JIT tier-up of code that runs once per job), so
 * the 100 jobs used until then measured processes that had barely started; a server runs for days.
 * docs/benchmarks.md "End of session 6" has the curve (`bench/warmup-curve.ts`).
 */
export function warmupJobsPerThread(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BENCH_WARMUP ?? 3000);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`BENCH_WARMUP must be a whole number, not "${env.BENCH_WARMUP}"`);
  return value;
}

/**
 * Timed rounds per comparison (`BENCH_ROUNDS`, default 5). Session 13 ran the end-to-end bench five times
 * in one hour on unchanged code and measured the large-job ratio anywhere from 0.62 to 0.83: the host's
 * speed drifts over minutes (a slow run was ~20 % slower in every function alike), and one plain-loop run
 * followed by one platform run puts the two sides in different minutes. Rounds alternate the sides
 * (`alternateRounds`) and the ratio is the median of the rounds' own ratios.
 */
export function benchRounds(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.BENCH_ROUNDS ?? 5);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`BENCH_ROUNDS must be a whole number ≥ 1, not "${env.BENCH_ROUNDS}"`);
  return value;
}

/**
 * Runs each side once per round, the order reversed every other round (A B, B A, A B, …), so whatever the
 * host does over a minute falls on every side alike and no side always runs first. Each side must be
 * started and warmed up already; `runs[i][r]` is side i's result in round r.
 */
export async function alternateRounds<T>(sides: (() => Promise<T>)[], rounds: number): Promise<T[][]> {
  const runs: T[][] = sides.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = sides.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) runs[i]!.push(await sides[i]!());
  }
  return runs;
}

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Each round's ratio a[r] / b[r], paired (both sides measured in the same round). */
export function roundRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, r) => value / b[r]!);
}

/** "0.71 (0.66–0.78 over 5 rounds)": a median ratio with its range, for a result's note. */
export function describeRatios(ratios: readonly number[]): string {
  const lo = Math.min(...ratios).toFixed(2);
  const hi = Math.max(...ratios).toFixed(2);
  return `${median(ratios).toFixed(3)} (${lo}–${hi} over ${ratios.length} round${ratios.length === 1 ? '' : 's'})`;
}
