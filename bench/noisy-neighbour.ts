/**
 * Noisy neighbours: tenant A floods a shared queue, tenants B–E then submit at a steady pace.
 * Everything is real and in-process: the SQLite queue, job store and tenant directory, the function host
 * with its worker-thread pool running the finance model and rendering workbooks, jobs submitted through
 * `submitJob` (the API's submit path after admission; admission is bypassed so A's flood gets in).
 *
 * Two schedulers in one run:
 * - fair: the production path, one fairness group per tenant (start-time fair queueing by weight);
 * - FIFO: the same queue with every message in ONE group, so the fair claim degenerates to FIFO.
 *
 * Reported per scheduler: B–E completion latency (submit → job finished, seen by the host) p50 and p95,
 * as a ratio to the same B–E jobs with no flood (target ≤ 2×); and the worst tenant's share of job starts
 * while all five tenants are backlogged, as a ratio to its fair share (target ≥ 0.95).
 * Run standalone: `npx tsx bench/noisy-neighbour.ts` (`--quick` floods 1,000 jobs instead of 10,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureQueue, WEBHOOK_QUEUE } from '../src/control/lanes.ts';
import { percentile } from '../src/control/metrics.ts';
import { submitJob } from '../src/control/submit-job.ts';
import { createTenant } from '../src/control/tenants.ts';
import type { JobRecord } from '../src/core/job.ts';
import { sharedQueueName } from '../src/core/placement.ts';
import { limitsFor, type Tenant } from '../src/core/tenant.ts';
import { STRICT_WEBHOOK_POLICY } from '../src/core/webhook-target.ts';
import { openEmbeddedPlatform } from '../src/entry/embedded-wiring.ts';
import type { JobIntake } from '../src/ports/job-intake.ts';
import { tenantDataAt } from '../src/ports/stores.ts';
import { startFunctionHost } from '../src/runtime/function-host.ts';
import { moduleUrl } from '../src/runtime/module-url.ts';
import type { BenchResult } from './types.ts';

const FLOOD = process.argv.includes('--quick') ? 1_000 : 10_000;
const STEADY_JOBS = 20;
const STEADY_GAP_MS = 50;
/** Jobs each of B–E submits at once for the share measurement: enough to stay backlogged a while. */
const BACKLOG_JOBS = 60;
const QUIET = ['b', 'c', 'd', 'e'] as const;
const INPUT = { revenue: 1_000_000, years: 5 };

type Mode = 'fair' | 'fifo';

interface Started {
  tenant: string;
  at: number;
}

interface Run {
  /** Completion latency, ms, of B–E's steady jobs. */
  latencies: number[];
  /** Worst (share of starts ÷ fair share) among the five tenants while all were backlogged. */
  worstShare: number;
  seconds: number;
}

async function runScenario(mode: Mode, flood: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), `silopool-noisy-${mode}-`));
  const platform = openEmbeddedPlatform(dataDir);
  const began = performance.now();
  try {
    await ensureQueue(platform.queue, sharedQueueName('finance'), {
      visibilityTimeoutSec: 60,
      maxReceiveCount: 4,
    });
    await ensureQueue(platform.queue, WEBHOOK_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 12 });
    const control = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const tenants = new Map<string, Tenant>();
    for (const name of ['a', ...QUIET]) {
      const id = `${mode}-${name}-${Math.random().toString(36).slice(2, 8)}`;
      tenants.set(
        name,
        (await createTenant(control, { id, name: `Tenant ${name}`, plan: 'enterprise' })).tenant,
      );
    }
    // FIFO: one fairness group for everyone. The only difference from production is the group id sent.
    const intake: JobIntake =
      mode === 'fair'
        ? platform.intake
        : {
            ...platform.intake,
            submit: (t, s) => platform.intake.submit(t, { ...s, message: { ...s.message, groupId: 'all' } }),
          };

    const finished = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    const starts: Started[] = [];
    const host = startFunctionHost({
      queue: platform.queue,
      directory: platform.directory,
      stores: platform.stores,
      models: ['finance'],
      factory: { module: moduleUrl('../src/entry/embedded-wiring', import.meta.url), options: { dataDir } },
      visibilityTimeoutSec: 60,
      webhookPolicy: STRICT_WEBHOOK_POLICY,
      poolSize: availableParallelism(),
      onJob: (job: JobRecord) => {
        if (job.status === 'running' && job.attempts === 1)
          starts.push({ tenant: job.tenantId, at: performance.now() });
        if (job.status === 'succeeded' || job.status === 'failed') {
          finished.set(job.id, performance.now());
          waiters.get(job.id)?.();
        }
      },
      onError: (error) => console.error(error),
    });
    const progress = setInterval(
      () =>
        process.stderr.write(
          `  ${mode} flood=${flood}: ${starts.length} started, ${finished.size} finished\n`,
        ),
      5000,
    );
    // Let the host read tenant limits and weights before the first claim.
    await new Promise((r) => setTimeout(r, 300));

    const submit = async (name: string): Promise<{ id: string; at: number }> => {
      const tenant = tenants.get(name)!;
      const data = tenantDataAt(platform.stores, { kind: 'shared' }, tenant.id);
      const at = performance.now();
      const { job } = await submitJob(intake, { tenant, data, model: 'finance', input: INPUT });
      return { id: job.id, at };
    };
    const done = (id: string): Promise<number> =>
      finished.has(id)
        ? Promise.resolve(finished.get(id)!)
        : new Promise((resolve) => waiters.set(id, () => resolve(finished.get(id)!)));
    // Independent tenants do not submit in lockstep: each starts a quarter of a gap after the previous.
    const steady = (name: string, index: number) =>
      (async () => {
        await new Promise((r) => setTimeout(r, (index * STEADY_GAP_MS) / QUIET.length));
        const out: { id: string; at: number }[] = [];
        for (let i = 0; i < STEADY_JOBS; i++) {
          out.push(await submit(name));
          await new Promise((r) => setTimeout(r, STEADY_GAP_MS));
        }
        return Promise.all(out.map(async (s) => (await done(s.id)) - s.at));
      })();

    // Warm the worker threads (module load, first workbook) so neither run measures a cold start.
    const warm = await Promise.all(Array.from({ length: 4 * availableParallelism() }, () => submit('a')));
    await Promise.all(warm.map((w) => done(w.id)));

    if (flood === 0) {
      const latencies = (await Promise.all(QUIET.map(steady))).flat();
      clearInterval(progress);
      await host.stop();
      return { latencies, worstShare: Number.NaN, seconds: (performance.now() - began) / 1000 };
    }

    for (let i = 0; i < flood; i++) await submit('a');
    const latencies = (await Promise.all(QUIET.map(steady))).flat();

    // All five backlogged: B–E each queue BACKLOG_JOBS at once behind A's remaining flood.
    const backlogStart = performance.now();
    const backlog = (
      await Promise.all(
        QUIET.map(async (name) => Promise.all(Array.from({ length: BACKLOG_JOBS }, () => submit(name)))),
      )
    ).flat();
    const backlogSubmitted = performance.now();
    // The window ends when the first of B–E has had all its backlog started (it is then no longer backlogged).
    const idsOf = new Map<string, string>(QUIET.map((name) => [tenants.get(name)!.id, name]));
    await Promise.all(backlog.map((s) => done(s.id)));
    const counts = new Map<string, number>();
    let windowEnd = Number.POSITIVE_INFINITY;
    const seen = new Map<string, number>();
    for (const s of starts) {
      if (s.at < backlogStart) continue;
      const name = idsOf.get(s.tenant);
      if (name) {
        seen.set(name, (seen.get(name) ?? 0) + 1);
        if (seen.get(name) === BACKLOG_JOBS && s.at < windowEnd) windowEnd = s.at;
      }
    }
    for (const s of starts) {
      if (s.at < backlogSubmitted || s.at >= windowEnd) continue;
      counts.set(s.tenant, (counts.get(s.tenant) ?? 0) + 1);
    }
    const all = [...tenants.values()];
    const totalStarts = [...counts.values()].reduce((a, b) => a + b, 0);
    const totalWeight = all.reduce((sum, t) => sum + limitsFor(t).weight, 0);
    const worstShare = Math.min(
      ...all.map((t) =>
        totalStarts === 0 ? 0 : (counts.get(t.id) ?? 0) / totalStarts / (limitsFor(t).weight / totalWeight),
      ),
    );
    clearInterval(progress);
    await host.stop();
    return { latencies, worstShare, seconds: (performance.now() - began) / 1000 };
  } finally {
    await platform.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchNoisyNeighbour(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const mode of ['fair', 'fifo'] as const) {
    const quiet = await runScenario(mode, 0);
    const flooded = await runScenario(mode, FLOOD);
    const label = mode === 'fair' ? 'fair (per-tenant groups)' : 'FIFO (one group)';
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    for (const [p, name] of [
      [0.5, 'p50'],
      [0.95, 'p95'],
    ] as const) {
      const base = percentile(sorted(quiet.latencies), p);
      const value = percentile(sorted(flooded.latencies), p);
      results.push({
        name: `noisy-neighbour ${label}: B–E ${name} completion latency under a ${FLOOD}-job flood`,
        value,
        unit: 'ms',
        baseline: base,
        ratio: value / base,
        note: `baseline = same B–E jobs with no flood; target ratio ≤ 2 (${flooded.seconds.toFixed(0)} s run)`,
      });
    }
    results.push({
      name: `noisy-neighbour ${label}: worst tenant's share of service while all 5 are backlogged`,
      value: flooded.worstShare,
      unit: '× fair share',
      note: 'starts in the window ÷ (weight ÷ total weight); target ≥ 0.95',
    });
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchNoisyNeighbour();
  for (const r of results) {
    const vs =
      r.baseline === undefined
        ? ''
        : ` (baseline ${r.baseline.toFixed(1)} ${r.unit}, ratio ${r.ratio!.toFixed(2)}×)`;
    console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}${vs}${r.note ? ` — ${r.note}` : ''}`);
  }
}
