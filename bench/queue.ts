/**
 * Queue throughput: the embedded SQLite queue against BullMQ + Redis, same workload, one run.
 * (a) no-op jobs claimed and completed per second: N consumers, each receiving batches of 10 and
 *     deleting each message (BullMQ: N workers of concurrency 10, jobs removed on completion);
 * (b) batch enqueue per second: batches of 100 (BullMQ: `addBulk` of 100).
 * Durability is matched: SQLite WAL + synchronous=NORMAL survives a process kill, not a power cut;
 * Redis runs with `--appendonly yes --appendfsync everysec`, the same class.
 * Run standalone: `npx tsx bench/queue.ts`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { openDatabase } from '../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../src/adapters/embedded/message-queue.ts';
import type { BenchResult } from './types.ts';

const JOBS = 20_000;
const CONSUMERS = 4;
const ENQUEUE_BATCH = 100;
const ROUNDS = 5;
const TENANTS = 10;

const body = (i: number): string =>
  JSON.stringify({ jobId: `j_${i}`, tenantId: `t-${i % TENANTS}`, model: 'finance' });

/** Per second, and CPU per claimed+completed job in µs (this process's threads, plus redis-server's for BullMQ). */
type Rates = { enqueue: number; claim: number; claimCpuUs: number };

function medians(rounds: Rates[]): Rates {
  return {
    enqueue: median(rounds.map((r) => r.enqueue)),
    claim: median(rounds.map((r) => r.claim)),
    claimCpuUs: median(rounds.map((r) => r.claimCpuUs)),
  };
}

/** CPU time of another process so far, µs: utime + stime from /proc/<pid>/stat (0 where /proc is absent). */
export function processCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** `getconf CLK_TCK`: 100 on Linux. */
const CLOCK_TICKS = 100;

const ownCpuMicros = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return used.user + used.system;
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function sqliteRound(dir: string, round: number): Promise<Rates> {
  const db = openDatabase(join(dir, `queue-${round}.db`));
  const queue = createSqliteMessageQueue(db);
  await queue.createQueue('bench', { visibilityTimeoutSec: 30 });
  let started = performance.now();
  for (let i = 0; i < JOBS; i += ENQUEUE_BATCH) {
    const batch = Array.from({ length: ENQUEUE_BATCH }, (_, k) => ({
      body: body(i + k),
      groupId: `t-${(i + k) % TENANTS}`,
    }));
    await queue.sendBatch('bench', batch);
  }
  const enqueue = JOBS / ((performance.now() - started) / 1000);

  let done = 0;
  started = performance.now();
  const cpu = process.cpuUsage();
  const consumer = async (): Promise<void> => {
    for (;;) {
      const got = await queue.receive('bench', { maxMessages: 10 });
      if (got.length === 0) return;
      await Promise.all(got.map((m) => queue.delete('bench', m.receiptHandle)));
      done += got.length;
    }
  };
  await Promise.all(Array.from({ length: CONSUMERS }, consumer));
  const claim = done / ((performance.now() - started) / 1000);
  const claimCpuUs = ownCpuMicros(cpu) / done;
  if (done !== JOBS) throw new Error(`SQLite bench completed ${done} of ${JOBS} jobs`);
  db.close();
  return { enqueue, claim, claimCpuUs };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export function ensureRedis(): string | undefined {
  try {
    return execFileSync('which', ['redis-server']).toString().trim();
  } catch {
    try {
      execFileSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'ignore' });
      return execFileSync('which', ['redis-server']).toString().trim();
    } catch {
      return undefined;
    }
  }
}

export async function startRedis(
  binary: string,
  dir: string,
): Promise<{ port: number; pid: number | undefined; stop(): void }> {
  const port = await freePort();
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  for (let attempt = 0; ; attempt++) {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch (error) {
      probe.disconnect();
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { port, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

async function bullmqRound(port: number, redisPid: number | undefined, round: number): Promise<Rates> {
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const name = `bench-${round}`;
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  let started = performance.now();
  for (let i = 0; i < JOBS; i += ENQUEUE_BATCH) {
    await queue.addBulk(
      Array.from({ length: ENQUEUE_BATCH }, (_, k) => ({
        name: 'finance',
        data: body(i + k),
        opts: { removeOnComplete: true, removeOnFail: true },
      })),
    );
  }
  const enqueue = JOBS / ((performance.now() - started) / 1000);

  let done = 0;
  let finish: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => {
    finish = resolve;
  });
  started = performance.now();
  const cpu = process.cpuUsage();
  const redisCpu = processCpuMicros(redisPid);
  const workers = Array.from({ length: CONSUMERS }, () => {
    const worker = new Worker(name, async () => undefined, { connection, concurrency: 10, autorun: true });
    worker.on('completed', () => {
      if (++done === JOBS) finish();
    });
    return worker;
  });
  await allDone;
  const claim = JOBS / ((performance.now() - started) / 1000);
  const claimCpuUs = (ownCpuMicros(cpu) + processCpuMicros(redisPid) - redisCpu) / JOBS;
  await Promise.all(workers.map((w) => w.close()));
  await queue.obliterate({ force: true });
  await queue.close();
  return { enqueue, claim, claimCpuUs };
}

export async function benchQueue(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-bench-queue-'));
  try {
    const workload = `${JOBS} no-op jobs from ${TENANTS} tenants, median of ${ROUNDS} interleaved rounds`;
    const sqlite: Rates[] = [];
    const binary = ensureRedis();
    if (!binary) {
      for (let round = 0; round < ROUNDS; round++) sqlite.push(await sqliteRound(dir, round));
      const ours = medians(sqlite);
      return [
        {
          name: 'queue claim+complete (SQLite)',
          value: ours.claim,
          unit: 'jobs/s',
          note: `${workload}; redis-server unavailable, no baseline`,
        },
        {
          name: 'queue batch enqueue (SQLite)',
          value: ours.enqueue,
          unit: 'jobs/s',
          note: 'redis-server unavailable, no baseline',
        },
      ];
    }
    const redis = await startRedis(binary, dir);
    const bull: Rates[] = [];
    try {
      // Rounds alternate, so a load spike on a shared machine hits both sides alike.
      for (let round = 0; round < ROUNDS; round++) {
        sqlite.push(await sqliteRound(dir, round));
        bull.push(await bullmqRound(redis.port, redis.pid, round));
      }
    } finally {
      redis.stop();
    }
    const ours = medians(sqlite);
    const theirs = medians(bull);
    return [
      {
        name: 'queue claim+complete: SQLite vs BullMQ+Redis',
        value: ours.claim,
        unit: 'jobs/s',
        baseline: theirs.claim,
        ratio: ours.claim / theirs.claim,
        note: `${workload}; ${CONSUMERS} consumers × receive 10 + delete each, fair claims across tenants; BullMQ ${CONSUMERS} workers × concurrency 10, removeOnComplete`,
      },
      {
        name: 'queue claim+complete: CPU per job, SQLite vs BullMQ+Redis',
        value: ours.claimCpuUs,
        unit: 'µs',
        baseline: theirs.claimCpuUs,
        ratio: ours.claimCpuUs / theirs.claimCpuUs,
        note: 'process CPU (user+system, all threads) per job; BullMQ adds redis-server’s CPU (/proc/<pid>/stat); median of rounds',
      },
      {
        name: 'queue batch enqueue: SQLite vs BullMQ+Redis',
        value: ours.enqueue,
        unit: 'jobs/s',
        baseline: theirs.enqueue,
        ratio: ours.enqueue / theirs.enqueue,
        note: `${workload}; sendBatch of ${ENQUEUE_BATCH} (one transaction) vs addBulk of ${ENQUEUE_BATCH}; WAL+NORMAL vs AOF everysec`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchQueue();
  for (const r of results) {
    const vs =
      r.baseline === undefined
        ? ''
        : ` (baseline ${r.baseline.toFixed(0)} ${r.unit}, ratio ${r.ratio!.toFixed(2)}×)`;
    console.log(`${r.name}: ${r.value.toFixed(0)} ${r.unit}${vs}${r.note ? ` — ${r.note}` : ''}`);
  }
}
