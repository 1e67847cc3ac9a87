/**
 * End to end: finance jobs from HTTP submit to finished workbook per second, as a ratio to calling the
 * same model and renderer in a plain loop with the same parallelism (worker threads), in the same run.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../src/entry/config.ts';
import { startPlatform } from '../src/entry/platform.ts';
import { startModuleWorker } from '../src/runtime/module-url.ts';
import type { BenchResult } from './types.ts';

const CASES = {
  small: { revenue: 1_000_000, years: 10 },
  large: {
    revenue: 1_000_000,
    years: 30,
    loan: { principal: 5_000_000, annualRate: 0.06, termMonths: 360, startDate: '2026-01-01' },
  },
} as const;
/** Jobs run before timing starts, on both sides, so JIT and module loading are not measured. */
const WARMUP_JOBS = 100;

async function plainLoop(input: unknown, jobs: number, threads: number): Promise<number> {
  const elapsed = await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const count = Math.floor(jobs / threads) + (i < jobs % threads ? 1 : 0);
      const worker = startModuleWorker(new URL('./plain-worker.ts', import.meta.url).href, {
        workerData: { count, warmup: WARMUP_JOBS, input },
      });
      return new Promise<number>((resolve, reject) => {
        worker.once('message', (ms: number) => worker.terminate().then(() => resolve(ms)));
        worker.once('error', reject);
      });
    }),
  );
  return jobs / (Math.max(...elapsed) / 1000);
}

async function platformRun(input: unknown, jobs: number, threads: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-bench-e2e-'));
  const platform = await startPlatform(
    readConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      SILOPOOL_WORKERS: String(process.env.E2E_PLATFORM_WORKERS ?? threads),
    }),
  );
  try {
    const create = await fetch(`${platform.url}/v1/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'bench-e2e',
        name: 'Bench',
        plan: 'enterprise',
        config: {
          limits: { submitRatePerSec: 1e6, submitBurst: 1e6, maxQueuedJobs: 1e7, maxRunningJobs: 1000 },
        },
      }),
    });
    const { apiKey } = (await create.json()) as { apiKey: string };
    await submitAll(platform, apiKey, input, WARMUP_JOBS);
    return await submitAll(platform, apiKey, input, jobs);
  } finally {
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Submits `jobs` jobs over HTTP (8 at a time) and resolves with jobs/s once all have finished. */
async function submitAll(
  platform: Awaited<ReturnType<typeof startPlatform>>,
  apiKey: string,
  input: unknown,
  jobs: number,
): Promise<number> {
  {
    let finished = 0;
    const allDone = new Promise<void>((resolve) => {
      const stop = platform.events.onAny((job) => {
        if (job.status === 'succeeded' || job.status === 'failed') {
          finished++;
          if (finished === jobs) {
            stop();
            resolve();
          }
        }
      });
    });
    const started = performance.now();
    const body = JSON.stringify({ input });
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < jobs) {
          next++;
          const res = await fetch(`${platform.url}/v1/models/finance/jobs`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
            body,
          });
          if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    await allDone;
    return jobs / ((performance.now() - started) / 1000);
  }
}

export async function benchEndToEnd(options: { jobs?: number } = {}): Promise<BenchResult[]> {
  const threads = availableParallelism();
  const results: BenchResult[] = [];
  for (const [name, input] of Object.entries(CASES)) {
    const jobs = name === 'small' ? (options.jobs ?? 1000) : Math.ceil((options.jobs ?? 1000) / 5);
    const baseline = await plainLoop(input, jobs, threads);
    const platform = await platformRun(input, jobs, threads);
    // What the platform adds per job, in core-milliseconds: HTTP, auth, validation, six durable writes.
    const overheadMs = (threads * 1000) / platform - (threads * 1000) / baseline;
    results.push({
      name: `e2e: ${name} finance jobs, HTTP submit → workbook stored, vs plain loop`,
      value: platform,
      unit: 'jobs/s',
      baseline,
      ratio: platform / baseline,
      note: `${jobs} jobs, ${threads} threads both sides, warm; platform adds ${overheadMs.toFixed(2)} core-ms per job; target ≥ 0.8`,
    });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchEndToEnd());
}
