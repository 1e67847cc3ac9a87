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

const INPUT = { revenue: 1_000_000, years: 10 };

async function plainLoop(jobs: number, threads: number): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const count = Math.floor(jobs / threads) + (i < jobs % threads ? 1 : 0);
      const worker = startModuleWorker(new URL('./plain-worker.ts', import.meta.url).href, {
        workerData: { count, input: INPUT },
      });
      return new Promise<void>((resolve, reject) => {
        worker.once('message', () => worker.terminate().then(() => resolve()));
        worker.once('error', reject);
      });
    }),
  );
  return jobs / ((performance.now() - started) / 1000);
}

async function platformRun(jobs: number, threads: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-bench-e2e-'));
  const platform = await startPlatform(
    readConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', SILOPOOL_WORKERS: String(threads) }),
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
    let finished = 0;
    const allDone = new Promise<void>((resolve) => {
      platform.events.onAny((job) => {
        if (job.status === 'succeeded' || job.status === 'failed') {
          finished++;
          if (finished === jobs) resolve();
        }
      });
    });
    const started = performance.now();
    const body = JSON.stringify({ input: INPUT });
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
  } finally {
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchEndToEnd(options: { jobs?: number } = {}): Promise<BenchResult[]> {
  const jobs = options.jobs ?? 1000;
  const threads = availableParallelism();
  await plainLoop(100, threads); // warm up the JIT of the model and renderer
  const baseline = await plainLoop(jobs, threads);
  const platform = await platformRun(jobs, threads);
  return [
    {
      name: 'e2e: finance jobs, HTTP submit → workbook stored, vs plain loop',
      value: platform,
      unit: 'jobs/s',
      baseline,
      ratio: platform / baseline,
      note: `${jobs} jobs, ${threads} worker threads both sides; target ≥ 0.8`,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchEndToEnd());
}
