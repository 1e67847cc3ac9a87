/**
 * API submit throughput and p99 latency, as a ratio to a bare Fastify route on the same machine in the
 * same run: the price of auth, tenant check, admission, validation, the durable job write and the durable
 * enqueue per request. The tenant's processing is paused; bench/e2e.ts measures jobs running too.
 * Also the server's CPU per request (this process, all threads), which a loaded machine distorts less
 * than throughput, and the same for a **durable floor route**: the bare route plus what no durable submit
 * can skip — the JSON body parsed and one SQLite commit (WAL, `synchronous=NORMAL`, the default durability
 * class) of a job-sized row and its outbox row, the requests of one event-loop turn sharing a commit as the
 * platform's intake does (issue 14: the physical cost of a durable submit).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { openDatabase } from '../src/adapters/embedded/database.ts';
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
  const floorDb = openDatabase(join(dataDir, 'floor.sqlite'));
  const insertItem = floorDb.prepare(
    'INSERT INTO job_items (pk, sk, doc, version, status, model) VALUES (?, ?, ?, 1, ?, ?)',
  );
  const insertOutbox = floorDb.prepare('INSERT INTO job_outbox (queue, message) VALUES (?, ?)');
  const writeJob = floorDb.transaction((id: string, doc: string) => {
    insertItem.run('T#bench-api', `JOB#${id}`, doc, 'queued', 'finance');
    insertOutbox.run('shared_finance', JSON.stringify({ body: id }));
  });
  // Group commit as the platform's intake does it: the requests of one event-loop turn share a commit.
  let group: { id: string; doc: string; done(): void }[] = [];
  const writeGroup = floorDb.transaction((items: typeof group) => {
    for (const item of items) writeJob(item.id, item.doc);
  });
  const commitGroup = () => {
    const items = group;
    group = [];
    writeGroup.immediate(items);
    for (const item of items) item.done();
  };
  bare.post('/durable', async (request, reply) => {
    const id = randomUUID();
    const doc = JSON.stringify({ id, status: 'queued', input: request.body });
    await new Promise<void>((done) => {
      if (group.push({ id, doc, done }) === 1) setImmediate(commitGroup);
    });
    return reply.code(202).send({ id, status: 'queued' });
  });
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
    const floorCpu = process.cpuUsage();
    const floor = await loadTest({
      url: `${bareUrl}/durable`,
      method: 'POST',
      headers,
      body,
      connections,
      durationMs,
      expectStatus: 202,
    });
    const floorCpuUs = cpuMicros(process.cpuUsage(floorCpu));
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
    const floorPerReq = floorCpuUs / floor.requests;
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
      {
        name: 'api: durable floor route (bare + one SQLite commit) vs bare route',
        value: floor.perSec,
        unit: 'req/s',
        baseline: base.perSec,
        ratio: floor.perSec / base.perSec,
        note: `CPU ${floorPerReq.toFixed(1)} vs ${basePerReq.toFixed(1)} µs a request; p99 ${floor.p99.toFixed(2)} vs ${base.p99.toFixed(2)} ms`,
      },
      {
        name: 'api: server CPU per submit vs per durable floor request',
        value: submitPerReq,
        unit: 'µs',
        baseline: floorPerReq,
        ratio: submitPerReq / floorPerReq,
        note: `submit throughput ${(submit.perSec / floor.perSec).toFixed(3)} of the floor route's`,
      },
    ];
  } finally {
    await bare.close();
    floorDb.close();
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
