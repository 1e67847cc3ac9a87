/**
 * The submit's durable write alone (no HTTP, no validation): the embedded intake (job, key and message in
 * one commit, grouped per event-loop turn) against the sequence it replaced (key, record, then message:
 * three commits in two files), on the same files in one run. Lone submits (one at a time: does grouping
 * delay them?) and 16 concurrent ones. `npx tsx bench/intake.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureQueue } from '../src/control/lanes.ts';
import { newJobId, type TenantId } from '../src/core/ids.ts';
import type { JobRecord } from '../src/core/job.ts';
import { sharedQueueName } from '../src/core/placement.ts';
import { emptyConfig, type Tenant } from '../src/core/tenant.ts';
import { openEmbeddedPlatform } from '../src/entry/embedded-wiring.ts';
import type { JobIntake } from '../src/ports/job-intake.ts';
import { createSequencedJobIntake } from '../src/ports/job-intake-sequence.ts';
import type { BenchResult } from './types.ts';

const LANE = sharedQueueName('finance');

function submission(tenant: Tenant, i: number) {
  const id = newJobId();
  const now = new Date().toISOString();
  const job: JobRecord = {
    id,
    tenantId: tenant.id,
    model: 'finance',
    modelVersion: '1.0.0',
    status: 'queued',
    input: { revenue: 1_000_000 + i, years: 5 },
    effectiveInput: { revenue: 1_000_000 + i, years: 5 },
    rules: {},
    artifacts: [],
    attempts: 0,
    cost: 1,
    priority: 0,
    idempotencyKey: `k-${id}`,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  return {
    job,
    idempotency: { key: `k-${id}`, requestHash: 'h', jobId: id, createdAt: now },
    queue: LANE,
    message: { body: JSON.stringify({ jobId: id }), groupId: tenant.id, dedupId: id },
  };
}

async function run(intake: JobIntake, tenant: Tenant, n: number, concurrency: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const start = performance.now();
        await intake.submit(tenant, submission(tenant, i));
        latencies.push(performance.now() - start);
        // A lone client's next request arrives in a later turn of the event loop, as over HTTP.
        if (concurrency === 1) await new Promise((r) => setImmediate(r));
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

export async function benchIntake(n = 4000): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-bench-intake-'));
  const platform = openEmbeddedPlatform(dir, 'process');
  try {
    await ensureQueue(platform.queue, LANE);
    const now = new Date().toISOString();
    const tenant: Tenant = {
      id: 'bench-intake' as TenantId,
      name: 'Bench',
      status: 'active',
      placement: 'shared',
      plan: 'enterprise',
      config: emptyConfig(),
      apiKeys: [],
      createdAt: now,
      incarnation: 'x',
      updatedAt: now,
      version: 1,
    };
    const oneCommit = platform.intake;
    const sequence = createSequencedJobIntake(platform);
    const results: BenchResult[] = [];
    for (const concurrency of [1, 16]) {
      // Alternating rounds, so a load spike on the shared machine hits both alike; the last round counts.
      let ours: { perSec: number; p50: number } | undefined;
      let theirs: { perSec: number; p50: number } | undefined;
      for (let round = 0; round < 2; round++) {
        for (const [name, intake] of [
          ['one commit', oneCommit],
          ['sequence', sequence],
        ] as const) {
          const start = performance.now();
          const latencies = await run(intake, tenant, n, concurrency);
          const measured = {
            perSec: n / ((performance.now() - start) / 1000),
            p50: latencies[Math.floor(latencies.length / 2)]!,
          };
          if (name === 'one commit') ours = measured;
          else theirs = measured;
          await platform.queue.purge(LANE);
        }
      }
      results.push({
        name: `intake: ${concurrency === 1 ? 'lone submits (one at a time)' : '16 concurrent submits'}, one commit vs the sequence`,
        value: ours!.perSec,
        unit: 'submits/s',
        baseline: theirs!.perSec,
        ratio: ours!.perSec / theirs!.perSec,
        note: `p50 ${ours!.p50.toFixed(3)} vs ${theirs!.p50.toFixed(3)} ms; ${n} submits with Idempotency-Key`,
      });
    }
    return results;
  } finally {
    await platform.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await benchIntake());
}
