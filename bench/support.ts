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
