import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import { createSqliteMetricsHistory } from '../../src/adapters/embedded/metrics-history.ts';
import { createTenantMetrics } from '../../src/control/metrics.ts';
import {
  bufferedHistory,
  createMetricsSampler,
  startMetricsHistory,
} from '../../src/control/metrics-history.ts';
import type { JobRecord, JobStatus } from '../../src/core/job.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(tenants: Set<string>) {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-history-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'silopool.sqlite'));
  const metrics = createTenantMetrics();
  const store = createSqliteMetricsHistory(db);
  const functions: { tenantId: string; coldStarts: number }[] = [];
  const sampler = createMetricsSampler({
    metrics,
    queue: createSqliteMessageQueue(db),
    tenantExists: async (id) => tenants.has(id),
    functions: () => functions,
    diskSpace: async () => ({ freeBytes: 250, sizeBytes: 1000, minFreeBytes: 100 }),
  });
  return { metrics, store, sampler, functions };
}

let n = 0;
const job = (tenantId: string, status: JobStatus): JobRecord =>
  ({
    id: `j_${n++}`,
    tenantId,
    status,
    attempts: 1,
    createdAt: '2026-11-30T12:00:00.000Z',
    startedAt: '2026-11-30T12:00:02.000Z',
  }) as JobRecord;

const pointValue = (
  points: { scope: string; metric: string; value: number }[],
  scope: string,
  metric: string,
) => points.find((p) => p.scope === scope && p.metric === metric)?.value;

describe('metrics history sampler', () => {
  it('records counts as differences between samples, per tenant and summed for the platform', async () => {
    const { metrics, sampler, functions } = setup(new Set(['a', 'b']));
    for (const s of ['succeeded', 'succeeded', 'failed'] as const) metrics.observe(job('a', s));
    metrics.observe(job('b', 'succeeded'));
    metrics.recordThrottle('b', 'submit_rate');
    functions.push({ tenantId: 'b', coldStarts: 3 });
    const first = await sampler.sample(1000);
    expect(pointValue(first.points, 'a', 'jobs_succeeded')).toBe(2);
    expect(pointValue(first.points, 'a', 'jobs_failed')).toBe(1);
    expect(pointValue(first.points, 'b', 'submits_throttled')).toBe(1);
    expect(pointValue(first.points, 'b', 'cold_starts')).toBe(3);
    expect(pointValue(first.points, '', 'jobs_succeeded')).toBe(3);
    expect(pointValue(first.points, '', 'data_dir_free_ratio')).toBe(0.25);

    metrics.observe(job('a', 'succeeded'));
    functions[0]!.coldStarts = 4;
    const second = await sampler.sample(2000);
    expect(pointValue(second.points, 'a', 'jobs_succeeded')).toBe(1);
    expect(pointValue(second.points, 'a', 'jobs_failed')).toBe(0);
    expect(pointValue(second.points, 'b', 'cold_starts')).toBe(1);
    expect(pointValue(second.points, '', 'jobs_succeeded')).toBe(1);
    // A function replaced (its counter restarted from 0) counts from zero, never negative.
    functions[0]!.coldStarts = 1;
    expect(pointValue((await sampler.sample(3000)).points, 'b', 'cold_starts')).toBe(1);
  });

  it('records the worst wait for the platform, and running jobs as a reading', async () => {
    const { metrics, sampler } = setup(new Set(['a', 'b']));
    metrics.observe({ ...job('a', 'running'), startedAt: '2026-11-30T12:00:09.000Z' });
    metrics.observe(job('b', 'running'));
    const { points } = await sampler.sample(1000);
    expect(pointValue(points, 'a', 'wait_p95_seconds')).toBe(9);
    expect(pointValue(points, 'b', 'wait_p95_seconds')).toBe(2);
    expect(pointValue(points, '', 'wait_p95_seconds')).toBe(9);
    expect(pointValue(points, '', 'jobs_running')).toBe(2);
  });

  it("deletes an offboarded tenant's history and stops sampling it; keeps samples within retention only", async () => {
    const tenants = new Set(['keep', 'gone']);
    const { metrics, store, sampler } = setup(tenants);
    metrics.observe(job('keep', 'succeeded'));
    metrics.observe(job('gone', 'succeeded'));
    let now = Date.parse('2026-11-01T00:00:00Z');
    const history = startMetricsHistory({
      store,
      sampler,
      intervalMs: 3_600_000,
      retentionMs: 7 * 86_400_000,
      onError: (error) => {
        throw error;
      },
      now: () => now,
    });
    await history.sampleNow();
    const all = { metric: 'jobs_succeeded', from: 0, to: Number.MAX_SAFE_INTEGER };
    expect((await store.query(all, 100)).map((p) => p.scope).sort()).toEqual(['', 'gone', 'keep']);

    tenants.delete('gone');
    now += 86_400_000;
    await history.sampleNow();
    expect((await store.query({ ...all, scope: 'gone' }, 100)).length).toBe(0);
    expect((await store.query({ ...all, scope: 'keep' }, 100)).length).toBe(2);

    now += 8 * 86_400_000;
    await history.sampleNow();
    const kept = await store.query({ ...all, scope: 'keep' }, 100);
    expect(kept.map((p) => p.at)).toEqual([now]);
    await history.stop();
  });

  it('holds the points it could not write (a full disk) for the alerts to read, and writes them with the next sample', async () => {
    const { store } = setup(new Set());
    let full = true;
    const buffered = bufferedHistory({
      ...store,
      record: async (points) => {
        if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        return store.record(points);
      },
    });
    const q = { metric: 'data_dir_free_ratio', scope: '', from: 0, to: 10_000 };
    await expect(
      buffered.record([{ at: 1000, scope: '', metric: 'data_dir_free_ratio', value: 0.01 }]),
    ).rejects.toThrow();
    expect((await buffered.query(q, 10)).map((p) => p.value)).toEqual([0.01]);
    expect(await store.query(q, 10)).toEqual([]);
    full = false;
    await buffered.record([{ at: 2000, scope: '', metric: 'data_dir_free_ratio', value: 0.5 }]);
    expect((await store.query(q, 10)).map((p) => p.value)).toEqual([0.01, 0.5]);
    expect((await buffered.query(q, 10)).map((p) => p.value)).toEqual([0.01, 0.5]);
  });
});

// A tenant id offboarded and onboarded again is another customer. The sampler dropped its baseline when it
// saw the tenant gone, but this process's counters of the id stayed: the next customer's first point
// counted from zero the jobs its predecessor finished (and failed), for alert rules and upgrades to read.
describe('a tenant id onboarded again after the sampler saw it gone', () => {
  it("starts its history from its own jobs, not its predecessor's", async () => {
    const tenants = new Set(['t-before']);
    const { metrics, sampler } = setup(tenants);
    for (let i = 0; i < 5; i++) metrics.observe(job('t-before', 'failed'));
    await sampler.sample(1_000);
    tenants.delete('t-before');
    expect((await sampler.sample(2_000)).gone).toEqual(['t-before']);
    tenants.add('t-before');
    metrics.observe(job('t-before', 'succeeded'));
    const { points } = await sampler.sample(3_000);
    expect(pointValue(points, 't-before', 'jobs_failed')).toBe(0);
    expect(pointValue(points, 't-before', 'jobs_succeeded')).toBe(1);
    // And when it goes again, it is reported gone again (its history is forgotten again).
    tenants.delete('t-before');
    expect((await sampler.sample(4_000)).gone).toEqual(['t-before']);
  });
});
