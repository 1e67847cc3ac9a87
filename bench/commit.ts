/**
 * The physical floor of a submit: what one durable SQLite commit costs on this disk (issue 14). Writes a
 * job-sized item (~1 KB) and its outbox row per submit into a WAL database, `groupSize` submits per
 * transaction, with `synchronous=NORMAL` (survives SIGKILL: SILOPOOL_DURABILITY=process) and `FULL`
 * (fsync per commit: `power`). Reports µs per submit of the median transaction; the ratio is against one
 * submit per transaction.
 * `npx tsx bench/commit.ts` (not part of `npm run bench`: it measures the disk, not Silopool).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/adapters/embedded/database.ts';
import type { BenchResult } from './types.ts';

const DOC = JSON.stringify({ input: { revenue: 1_000_000, years: 5 }, pad: 'x'.repeat(900) });

function measure(synchronous: 'NORMAL' | 'FULL', groupSize: number, submits: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-bench-commit-'));
  try {
    const db = openDatabase(join(dir, 'jobs.sqlite'), { synchronous });
    const item = db.prepare(
      'INSERT INTO job_items (pk, sk, doc, version, status, model) VALUES (?, ?, ?, 1, ?, ?)',
    );
    const outbox = db.prepare('INSERT INTO job_outbox (queue, message) VALUES (?, ?)');
    const group = db.transaction((n: number) => {
      for (let i = 0; i < n; i++) {
        const id = randomUUID();
        item.run('T#bench', `JOB#${id}`, DOC, 'queued', 'finance');
        outbox.run('shared_finance', `{"body":"${id}"}`);
      }
    });
    for (let i = 0; i < 50; i++) group.immediate(groupSize);
    // The median transaction, not the mean: on a shared machine the mean is mostly time descheduled.
    const perTransaction: number[] = [];
    for (let done = 0; done < submits; done += groupSize) {
      const start = process.hrtime.bigint();
      group.immediate(groupSize);
      perTransaction.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    db.close();
    perTransaction.sort((a, b) => a - b);
    return perTransaction[Math.floor(perTransaction.length / 2)]! / groupSize;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchCommit(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const synchronous of ['NORMAL', 'FULL'] as const) {
    const submits = synchronous === 'FULL' ? 400 : 8000;
    const one = measure(synchronous, 1, submits);
    for (const groupSize of [1, 4, 16]) {
      const perSubmit = groupSize === 1 ? one : measure(synchronous, groupSize, submits);
      results.push({
        name: `commit: job + outbox row, ${groupSize} per transaction, synchronous=${synchronous}`,
        value: perSubmit,
        unit: 'µs/submit',
        baseline: one,
        ratio: perSubmit / one,
        note: `${submits} submits`,
      });
    }
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchCommit());
}
