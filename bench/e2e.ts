/**
 * End to end: finance jobs from HTTP submit to finished workbook per second, as a ratio to calling the
 * same model and renderer in a plain loop with the same parallelism (worker threads), in the same run.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { readConfig } from '../src/entry/config.ts';
import { startPlatform } from '../src/entry/platform.ts';
import { startModuleWorker } from '../src/runtime/module-url.ts';
import {
  alternateRounds,
  benchRounds,
  describeRatios,
  median,
  roundRatios,
  warmupJobsPerThread,
} from './support.ts';
import type { BenchResult } from './types.ts';

/** The two inputs of the end-to-end comparisons (e2e, peer, floor): a 10-year DCF, and 30 years with a 360-month loan. */
export const E2E_CASES = {
  small: { revenue: 1_000_000, years: 10 },
  large: {
    revenue: 1_000_000,
    years: 30,
    loan: { principal: 5_000_000, annualRate: 0.06, termMonths: 360, startDate: '2026-01-01' },
  },
} as const;
/** Jobs run before timing starts, per thread, on both sides, so JIT tier-up and module loading are not measured. */
const WARMUP_JOBS = warmupJobsPerThread();

/** Jobs/s and CPU core-ms per job (the whole process: every thread) of one side's timed part. */
export interface Side {
  perSec: number;
  cpuMsPerJob: number;
  /** Of it, system time (the kernel: sockets, SQLite's and the artifacts' file calls). */
  systemMsPerJob: number;
}

/**
 * One side of a comparison, started and warmed up once, then timed as often as asked (in rounds that
 * alternate with the other sides: `alternateRounds`). While another side runs, this one idles.
 */
export interface WarmSide {
  /** Runs `jobs` timed jobs; jobs/s and the process's CPU per job over them. */
  run(jobs: number): Promise<Side>;
  stop(): Promise<void>;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function systemMs(): number {
  return process.cpuUsage().system / 1000;
}

/** Times `work` (which resolves with jobs/s): the process's CPU per job over it, every thread. */
export async function timed(jobs: number, work: () => Promise<number>): Promise<Side> {
  const cpuBefore = cpuMs();
  const systemBefore = systemMs();
  const perSec = await work();
  return {
    perSec,
    cpuMsPerJob: (cpuMs() - cpuBefore) / jobs,
    systemMsPerJob: (systemMs() - systemBefore) / jobs,
  };
}

/** The plain loop: the same model and renderer on `threads` worker threads, no platform, warmed up. */
export async function startPlainLoop(input: unknown, threads: number): Promise<WarmSide> {
  const workers = Array.from({ length: threads }, () =>
    startModuleWorker(new URL('./plain-worker.ts', import.meta.url).href, {
      workerData: { warmup: WARMUP_JOBS, input },
    }),
  );
  const next = (worker: Worker) =>
    new Promise<unknown>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  await Promise.all(workers.map(next));
  return {
    run: (jobs) =>
      timed(jobs, async () => {
        const done = workers.map(next);
        workers.forEach((worker, i) => {
          worker.postMessage({ count: Math.floor(jobs / threads) + (i < jobs % threads ? 1 : 0) });
        });
        const elapsed = (await Promise.all(done)) as number[];
        return jobs / (Math.max(...elapsed) / 1000);
      }),
    async stop() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Silopool on the embedded default (a data directory of its own, `threads` function threads), one tenant,
 * the client thread of 8 concurrent submits, warmed up: each run submits over HTTP and waits for every job
 * to finish.
 */
export async function startSilopool(input: unknown, threads: number): Promise<WarmSide> {
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-bench-e2e-'));
  const platform = await startPlatform(
    readConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'silent',
      SILOPOOL_WORKERS: String(process.env.E2E_PLATFORM_WORKERS ?? threads),
    }),
  );
  const stopPlatform = async () => {
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  let client: Worker | undefined;
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
    client = startModuleWorker(new URL('./e2e-client.ts', import.meta.url).href, {
      workerData: { url: platform.url, apiKey, body: JSON.stringify({ input }), concurrency: 8 },
    });
    await reply(client);
    await submitAll(platform, client, WARMUP_JOBS * threads);
  } catch (error) {
    await client?.terminate();
    await stopPlatform();
    throw error;
  }
  const warmClient = client;
  return {
    run: (jobs) => timed(jobs, () => submitAll(platform, warmClient, jobs)),
    async stop() {
      await warmClient.terminate();
      await stopPlatform();
    },
  };
}

/** One side alone, started, timed once and stopped: for profiling it from a scratch entry (`perf record`). */
async function once(side: Promise<WarmSide>, jobs: number): Promise<Side> {
  const warm = await side;
  try {
    return await warm.run(jobs);
  } finally {
    await warm.stop();
  }
}

const plainLoop = (input: unknown, jobs: number, threads: number) =>
  once(startPlainLoop(input, threads), jobs);
const platformRun = (input: unknown, jobs: number, threads: number) =>
  once(startSilopool(input, threads), jobs);

/**
 * The HTTP floor both ends pay per job: the same client thread (same body, same concurrency) against a bare
 * Fastify route that parses the JSON and answers 202, in this process. CPU core-ms per request.
 */
async function bareHttpCpuMs(input: unknown, requests: number): Promise<number> {
  const app = Fastify({ logger: false });
  app.post('/v1/models/finance/jobs', async (_request, reply) => reply.code(202).send({ id: 'job' }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const client = startModuleWorker(new URL('./e2e-client.ts', import.meta.url).href, {
    workerData: { url, apiKey: 'bare', body: JSON.stringify({ input }), concurrency: 8 },
  });
  try {
    await reply(client);
    const send = async (jobs: number) => {
      const sent = reply(client);
      client.postMessage({ jobs });
      await sent;
    };
    await send(WARMUP_JOBS * availableParallelism());
    const cpuBefore = cpuMs();
    await send(requests);
    return (cpuMs() - cpuBefore) / requests;
  } finally {
    await client.terminate();
    await app.close();
  }
}

/** The client thread's next answer: 'ready' or 'sent'; an error it reports is thrown here. */
function reply(client: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once('message', (message: string) =>
      message.startsWith('error') ? reject(new Error(message)) : resolve(),
    );
    client.once('error', reject);
  });
}

/** Submits `jobs` jobs over HTTP from the client thread and resolves with jobs/s once all have finished. */
async function submitAll(
  platform: Awaited<ReturnType<typeof startPlatform>>,
  client: Worker,
  jobs: number,
): Promise<number> {
  // BENCH_WARMUP=0: nothing to wait for (waiting for the 0th finished job would wait forever).
  if (jobs === 0) return 0;
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
  const sent = reply(client);
  client.postMessage({ jobs });
  await sent;
  await allDone;
  return jobs / ((performance.now() - started) / 1000);
}

/** Each side alone, for profiling one of them (`perf record`, `--trace-gc`) from a scratch entry. */
export { plainLoop, platformRun };
export async function benchEndToEnd(options: { jobs?: number } = {}): Promise<BenchResult[]> {
  const threads = availableParallelism();
  const rounds = benchRounds();
  const results: BenchResult[] = [];
  for (const [name, input] of Object.entries(E2E_CASES)) {
    // Per round and side; the same count for both cases (200 large jobs varied 0.58–0.99 run to run, session 8).
    const jobs = options.jobs ?? 500;
    const plainSide = await startPlainLoop(input, threads);
    let runs: Side[][];
    try {
      const silopool = await startSilopool(input, threads);
      try {
        runs = await alternateRounds([() => plainSide.run(jobs), () => silopool.run(jobs)], rounds);
      } finally {
        await silopool.stop();
      }
    } finally {
      await plainSide.stop();
    }
    const [plain, platform] = runs as [Side[], Side[]];
    const perSec = (side: Side[]) => median(side.map((r) => r.perSec));
    const cpu = (side: Side[]) => median(side.map((r) => r.cpuMsPerJob));
    const system = (side: Side[]) => median(side.map((r) => r.systemMsPerJob));
    const throughput = roundRatios(
      platform.map((r) => r.perSec),
      plain.map((r) => r.perSec),
    );
    const cpuRatios = roundRatios(
      plain.map((r) => r.cpuMsPerJob),
      platform.map((r) => r.cpuMsPerJob),
    );
    // What the platform adds per job, in core-milliseconds: HTTP (both ends: the client thread is in this
    // process), auth, validation, the durable writes, spans. From wall time, and from CPU time (the
    // process's user+system time over the timed part): the second holds up on a loaded machine.
    const overheadMs = (threads * 1000) / perSec(platform) - (threads * 1000) / perSec(plain);
    const cpuAdded = cpu(platform) - cpu(plain);
    const http = await bareHttpCpuMs(input, jobs);
    results.push({
      name: `e2e: ${name} finance jobs, HTTP submit → workbook stored, vs plain loop`,
      value: perSec(platform),
      unit: 'jobs/s',
      baseline: perSec(plain),
      ratio: median(throughput),
      note: `ratio ${describeRatios(throughput)}, ${jobs} jobs a round and side, alternated; ${threads} threads both sides, after ${WARMUP_JOBS} warm-up jobs per thread; platform adds ${overheadMs.toFixed(2)} core-ms per job (wall); target ≥ ${name === 'small' ? '0.5' : '0.8'} (issue 14)`,
    });
    results.push({
      name: `e2e: ${name} finance jobs, CPU per job (every thread of the process), plain loop vs platform`,
      value: cpu(platform),
      unit: 'core-ms/job',
      baseline: cpu(plain),
      ratio: median(cpuRatios),
      note: `ratio ${describeRatios(cpuRatios)}; platform adds ${cpuAdded.toFixed(2)} core-ms per job (CPU time), of which ${http.toFixed(2)} is the HTTP floor (the client thread + a bare Fastify route); system time ${system(platform).toFixed(2)} vs ${system(plain).toFixed(2)}`,
    });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchEndToEnd());
}
