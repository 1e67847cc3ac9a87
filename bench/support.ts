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
