/**
 * The durable floor: the least a durable HTTP job service must do per job on this machine, built plainly
 * in the same process shape as Silopool, and measured in the same run as the plain loop and Silopool.
 * What the issue-14 ratios are held against when asking "is this target physically reachable here?".
 *
 * Per job: an HTTP submit (the same client thread as bench/e2e.ts) to a Fastify route that checks an API
 * key by hash, validates the input (the model's JSON Schema with Silopool's Ajv options, and its checks),
 * and commits the job row and its message in ONE SQLite transaction; a function thread (one per core, its
 * own connection) commits a claim (message hidden, job running) and, after the same model and renderer as
 * the plain loop, ONE completion (workbook as a row, outcome, message deleted). Three commits, WAL with
 * `synchronous = NORMAL`: Silopool's durability class (a process kill loses nothing accepted).
 * Left out, by design: tenants, placement, fairness, limits, metering, traces, progress, retries, job
 * history — what Silopool does on top. So floor / plain bounds what any such service reaches here, and
 * Silopool / floor is what its own work costs.
 * Run: `npm run bench -- floor` (or `npx tsx bench/floor.ts`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { startModuleWorker } from '../src/runtime/module-url.ts';
import { E2E_CASES, type Side, startPlainLoop, startSilopool, timed, type WarmSide } from './e2e.ts';
import { plainSubmitApp } from './plain-submit.ts';
import {
  alternateRounds,
  benchRounds,
  describeRatios,
  median,
  roundRatios,
  warmupJobsPerThread,
} from './support.ts';
import type { BenchResult } from './types.ts';

const WARMUP_JOBS = warmupJobsPerThread();

const SCHEMA = `
  CREATE TABLE jobs (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, input TEXT NOT NULL, status TEXT NOT NULL,
    created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, summary TEXT);
  CREATE TABLE messages (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, visible_at INTEGER NOT NULL);
  CREATE INDEX messages_visible ON messages (visible_at, id);
  CREATE TABLE artifacts (key TEXT PRIMARY KEY, body BLOB NOT NULL);`;

/** The durable floor, started and warmed up with the same jobs per thread as bench/e2e.ts. */
export async function startFloor(input: unknown, threads: number): Promise<WarmSide> {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-bench-floor-'));
  const path = join(dir, 'floor.sqlite');
  const db = new Database(path, { timeout: 10_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  const insertJob = db.prepare(
    "INSERT INTO jobs (id, tenant_id, input, status, created_at) VALUES (?, ?, ?, 'queued', ?)",
  );
  const insertMessage = db.prepare('INSERT INTO messages (job_id, visible_at) VALUES (?, ?)');
  const submit = db.transaction((id: string, tenantId: string, inputJson: string, now: number) => {
    insertJob.run(id, tenantId, inputJson, now);
    insertMessage.run(id, now);
  });

  const workers = Array.from({ length: threads }, () =>
    startModuleWorker(new URL('./floor/worker.ts', import.meta.url).href, { workerData: { path } }),
  );
  const idle = new Set<Worker>();
  let submitted = 0;
  let finished = 0;
  let onFinished: (() => void) | undefined;
  let failure: Error | undefined;
  // A worker drains until no message is visible, then reports idle; a submit wakes one idle worker.
  const wake = () => {
    const worker = idle.values().next().value as Worker | undefined;
    if (!worker || submitted - finished <= threads - idle.size) return;
    idle.delete(worker);
    worker.postMessage('wake');
  };
  const ready = workers.map(
    (worker) =>
      new Promise<void>((resolve, reject) => {
        worker.once('error', reject);
        worker.on('message', (message: string | { idle?: true; error?: string }) => {
          if (typeof message === 'string') {
            finished++;
            onFinished?.();
          } else if (message.error) {
            failure = new Error(message.error);
            onFinished?.();
          } else {
            idle.add(worker);
            resolve();
            wake();
          }
        });
      }),
  );
  await Promise.all(ready);

  const { app, apiKey } = plainSubmitApp('bench-floor', (tenantId, body) => {
    const id = randomUUID();
    submit.immediate(id, tenantId, JSON.stringify(body), Date.now());
    submitted++;
    wake();
    return id;
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const client = startModuleWorker(new URL('./e2e-client.ts', import.meta.url).href, {
    workerData: { url, apiKey, body: JSON.stringify({ input }), concurrency: 8 },
  });
  const clientReply = () =>
    new Promise<void>((resolve, reject) => {
      client.once('message', (m: string) => (m.startsWith('error') ? reject(new Error(m)) : resolve()));
      client.once('error', reject);
    });
  const send = async (count: number): Promise<number> => {
    if (count === 0) return 0;
    const target = finished + count;
    const allDone = new Promise<void>((resolve, reject) => {
      onFinished = () => {
        if (failure) reject(failure);
        else if (finished >= target) resolve();
      };
    });
    const started = performance.now();
    const sent = clientReply();
    client.postMessage({ jobs: count });
    await sent;
    await allDone;
    return count / ((performance.now() - started) / 1000);
  };
  const stop = async () => {
    await client.terminate();
    await app.close();
    await Promise.all(workers.map((w) => w.terminate()));
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const succeeded = db.prepare<[], { n: number }>("SELECT count(*) n FROM jobs WHERE status = 'succeeded'");
  let sent = 0;
  // Outside the timed part: every job sent so far has succeeded.
  const check = (count: number) => {
    sent += count;
    const done = succeeded.get()!.n;
    if (done !== sent) throw new Error(`floor: ${done} of ${sent} jobs succeeded`);
  };
  try {
    await clientReply();
    await send(WARMUP_JOBS * threads);
    check(WARMUP_JOBS * threads);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    async run(jobs) {
      const side = await timed(jobs, () => send(jobs));
      check(jobs);
      return side;
    },
    stop,
  };
}

export async function benchFloor(options: { jobs?: number } = {}): Promise<BenchResult[]> {
  const threads = availableParallelism();
  const rounds = benchRounds();
  const results: BenchResult[] = [];
  for (const [name, input] of Object.entries(E2E_CASES)) {
    const jobs = options.jobs ?? 500;
    const started: WarmSide[] = [];
    let runs: Side[][];
    try {
      for (const start of [startPlainLoop, startFloor, startSilopool])
        started.push(await start(input, threads));
      runs = await alternateRounds(
        started.map((side) => () => side.run(jobs)),
        rounds,
      );
    } finally {
      for (const side of started) await side.stop();
    }
    const [plain, floor, platform] = runs as [Side[], Side[], Side[]];
    const perSec = (side: Side[]) => side.map((r) => r.perSec);
    const cpu = (side: Side[]) => median(side.map((r) => r.cpuMsPerJob)).toFixed(2);
    const floorToPlain = roundRatios(perSec(floor), perSec(plain));
    const platformToFloor = roundRatios(perSec(platform), perSec(floor));
    const target = name === 'small' ? '0.5' : '0.8';
    results.push({
      name: `floor: ${name} finance jobs, the durable floor vs plain loop`,
      value: median(perSec(floor)),
      unit: 'jobs/s',
      baseline: median(perSec(plain)),
      ratio: median(floorToPlain),
      note: `ratio ${describeRatios(floorToPlain)}, ${jobs} jobs a round and side, alternated; ${threads} threads, after ${WARMUP_JOBS} warm-up jobs per thread; CPU ${cpu(floor)} vs ${cpu(plain)} core-ms a job; issue 14's target for Silopool: ≥ ${target}`,
    });
    results.push({
      name: `floor: ${name} finance jobs, Silopool vs the durable floor`,
      value: median(perSec(platform)),
      unit: 'jobs/s',
      baseline: median(perSec(floor)),
      ratio: median(platformToFloor),
      note: `ratio ${describeRatios(platformToFloor)}; Silopool / plain ${describeRatios(roundRatios(perSec(platform), perSec(plain)))}; CPU ${cpu(platform)} vs ${cpu(floor)} core-ms a job`,
    });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchFloor());
}
