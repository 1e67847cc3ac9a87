/**
 * How CPU per job changes as a process warms up, chunk by chunk from a cold start, on both sides of the
 * end-to-end comparison: the plain loop (model + renderer on two threads) and Silopool (HTTP submit →
 * workbook stored, two function threads, the e2e bench's client). It is why `BENCH_WARMUP` is 1,000 jobs
 * per thread (bench/support.ts). Standalone: `npx tsx bench/warmup-curve.ts [chunks] [jobs per chunk]`;
 * `LARGE=1` for the large finance case. Prints one JSON line per chunk and side.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { readConfig } from '../src/entry/config.ts';
import { startPlatform } from '../src/entry/platform.ts';
import { startModuleWorker } from '../src/runtime/module-url.ts';

const input = process.env.LARGE
  ? {
      revenue: 1_000_000,
      years: 30,
      loan: { principal: 5_000_000, annualRate: 0.06, termMonths: 360, startDate: '2026-01-01' },
    }
  : { revenue: 1_000_000, years: 10 };
const chunks = Number(process.argv[2] ?? 10);
const perChunk = Number(process.argv[3] ?? 500);
const next = (w: Worker) =>
  new Promise<string>((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    w.once('error', fail);
    w.once('message', (m: string) => {
      w.off('error', fail);
      if (m.startsWith('error')) reject(new Error(m));
      else resolve(m);
    });
  });
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const print = (side: string, chunk: number, ms: number, cpu: number) =>
  console.log(
    JSON.stringify({
      side,
      chunk,
      jobsPerSec: Math.round(perChunk / (ms / 1000)),
      cpuMsPerJob: +(cpu / perChunk).toFixed(2),
    }),
  );

const workers = [0, 1].map(() =>
  startModuleWorker(new URL('./curve-worker.ts', import.meta.url).href, {
    workerData: { count: perChunk / 2, input },
  }),
);
await Promise.all(workers.map(next));
for (let c = 0; c < chunks; c++) {
  const cpu = cpuMs();
  const t = performance.now();
  const done = workers.map(next);
  for (const w of workers) w.postMessage('go');
  await Promise.all(done);
  print('plain', c, performance.now() - t, cpuMs() - cpu);
}
await Promise.all(workers.map((w) => w.terminate()));

const dataDir = mkdtempSync(join(tmpdir(), 'silopool-bench-curve-'));
const platform = await startPlatform(
  readConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', SILOPOOL_WORKERS: '2' }),
);
try {
  const created = await fetch(`${platform.url}/v1/admin/tenants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.operatorToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'bench-curve',
      name: 'Bench',
      plan: 'enterprise',
      config: {
        limits: { submitRatePerSec: 1e6, submitBurst: 1e6, maxQueuedJobs: 1e7, maxRunningJobs: 1000 },
      },
    }),
  });
  const { apiKey } = (await created.json()) as { apiKey: string };
  const client = startModuleWorker(new URL('./e2e-client.ts', import.meta.url).href, {
    workerData: { url: platform.url, apiKey, body: JSON.stringify({ input }), concurrency: 8 },
  });
  await next(client);
  for (let c = 0; c < chunks; c++) {
    let finished = 0;
    const allDone = new Promise<void>((resolve) => {
      const stop = platform.events.onAny((job) => {
        if ((job.status === 'succeeded' || job.status === 'failed') && ++finished === perChunk) {
          stop();
          resolve();
        }
      });
    });
    const cpu = cpuMs();
    const t = performance.now();
    const sent = next(client);
    client.postMessage({ jobs: perChunk });
    await sent;
    await allDone;
    print('silopool', c, performance.now() - t, cpuMs() - cpu);
  }
  await client.terminate();
} finally {
  await platform.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
