/**
 * API submit throughput and p99 latency, as a ratio to a bare Fastify route on the same machine in the
 * same run: the price of auth, tenant check, admission, validation, the durable job write and the durable
 * enqueue per request. The tenant's processing is paused; bench/e2e.ts measures jobs running too.
 * Also the server's CPU per request (this process, all threads), which a loaded machine distorts less
 * than throughput.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { readConfig } from '../src/entry/config.ts';
import { startPlatform } from '../src/entry/platform.ts';
import { loadTest } from './support.ts';
import type { BenchResult } from './types.ts';

export async function benchApi(
  options: { durationMs?: number; connections?: number } = {},
): Promise<BenchResult[]> {
  const durationMs = options.durationMs ?? 8000;
  const connections = options.connections ?? 16;
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-bench-api-'));
  const platform = await startPlatform({
    ...readConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      // BENCH_LOG_LEVEL=info includes the request log lines (pino to this process's stdout) in the cost.
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      SILOPOOL_WORKERS: '1',
    }),
  });
  const bare = Fastify();
  bare.post('/bare', async (_request, reply) => reply.code(202).send({ id: 'x', status: 'queued' }));
  const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
  try {
    const create = await fetch(`${platform.url}/v1/admin/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.operatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'bench-api',
        name: 'Bench',
        plan: 'enterprise',
        config: {
          limits: { submitRatePerSec: 1e6, submitBurst: 1e6, maxQueuedJobs: 1e7, maxRunningJobs: 0 },
        },
      }),
    });
    const { apiKey } = (await create.json()) as { apiKey: string };
    // maxRunningJobs 0 pauses the tenant's processing, so the function host does not compete for the
    // two cores: this measures the API path (auth, validation, durable write and enqueue) alone.
    await new Promise((r) => setTimeout(r, 2500));
    const body = JSON.stringify({ input: { revenue: 1_000_000, years: 5 } });
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    // The platform and the bare route run in this process (wrk in its own): process CPU over each window,
    // all threads, divided by the requests answered, is the server's CPU per request.
    const baseCpu = process.cpuUsage();
    const base = await loadTest({
      url: `${bareUrl}/bare`,
      method: 'POST',
      headers,
      body,
      connections,
      durationMs,
      expectStatus: 202,
    });
    const baseCpuUs = cpuMicros(process.cpuUsage(baseCpu));
    const submitCpu = process.cpuUsage();
    const submit = await loadTest({
      url: `${platform.url}/v1/models/finance/jobs`,
      method: 'POST',
      headers,
      body,
      connections,
      durationMs,
      expectStatus: 202,
    });
    const submitCpuUs = cpuMicros(process.cpuUsage(submitCpu));
    const basePerReq = baseCpuUs / base.requests;
    const submitPerReq = submitCpuUs / submit.requests;
    return [
      {
        name: 'api: submit throughput vs bare Fastify route',
        value: submit.perSec,
        unit: 'req/s',
        baseline: base.perSec,
        ratio: submit.perSec / base.perSec,
        note: `${connections} connections, ${durationMs / 1000}s; errors ${submit.errors}; target ≥ 0.35`,
      },
      {
        name: 'api: submit p99 latency vs bare route',
        value: submit.p99,
        unit: 'ms',
        baseline: base.p99,
        ratio: submit.p99 / base.p99,
        note: `p50 ${submit.p50.toFixed(2)} ms vs ${base.p50.toFixed(2)} ms`,
      },
      {
        name: 'api: server CPU per submit vs per bare request',
        value: submitPerReq,
        unit: 'µs',
        baseline: basePerReq,
        ratio: submitPerReq / basePerReq,
        note: `process CPU (user+system, all threads) / requests; submit ${(submitCpuUs / 1e6).toFixed(2)} s for ${submit.requests}, bare ${(baseCpuUs / 1e6).toFixed(2)} s for ${base.requests}`,
      },
    ];
  } finally {
    await bare.close();
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchApi());
}
