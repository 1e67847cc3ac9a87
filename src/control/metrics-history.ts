import type { MessageQueue } from '../ports/message-queue.ts';
import type { MetricPoint, MetricsHistoryStore } from '../ports/metrics-history.ts';
import type { DiskSpace } from './disk-space.ts';
import type { TenantCounters, TenantMetrics } from './metrics.ts';
import { queuedJobsByTenant } from './queued-jobs.ts';

/** How a history metric is kept: a reading at the sample (`gauge`) or what happened since the last (`delta`). */
export type HistoryKind = 'gauge' | 'delta';

/**
 * The figures kept in metrics history, by name: per tenant, and for the platform (scope `''`) as the sum
 * over tenants, except `wait_p95_seconds` (the worst tenant's) and the `data_dir_*` readings (platform only).
 */
export const HISTORY_METRICS = {
  queue_depth: { title: 'Jobs waiting', unit: 'jobs', kind: 'gauge' },
  jobs_running: { title: 'Jobs running', unit: 'jobs', kind: 'gauge' },
  wait_p95_seconds: { title: 'Wait to start, p95 of recent jobs', unit: 's', kind: 'gauge' },
  jobs_succeeded: { title: 'Jobs succeeded', unit: 'jobs', kind: 'delta' },
  jobs_failed: { title: 'Jobs failed', unit: 'jobs', kind: 'delta' },
  dead_letters: { title: 'Jobs dead-lettered', unit: 'jobs', kind: 'delta' },
  submits_throttled: { title: 'Submits throttled (429)', unit: 'submits', kind: 'delta' },
  cold_starts: { title: 'Dedicated function cold starts', unit: 'starts', kind: 'delta' },
  data_dir_free_ratio: { title: 'Free space of DATA_DIR', unit: 'ratio', kind: 'gauge' },
  data_dir_free_bytes: { title: 'Free bytes of DATA_DIR', unit: 'bytes', kind: 'gauge' },
  data_dir_min_free_bytes: { title: 'Minimum free bytes before degraded', unit: 'bytes', kind: 'gauge' },
} as const satisfies Record<string, { title: string; unit: string; kind: HistoryKind }>;

export type HistoryMetric = keyof typeof HISTORY_METRICS;

export interface MetricsSamplerDeps {
  metrics: TenantMetrics;
  queue: MessageQueue;
  /** Whether the tenant still exists: an offboarded tenant's history is deleted, not sampled. */
  tenantExists(tenantId: string): Promise<boolean>;
  diskSpace?: () => Promise<DiskSpace>;
  /** Dedicated functions with their cold starts since they were created (FunctionInfo on the embedded host). */
  functions?: () => readonly { tenantId: string; coldStarts: number }[];
}

type Cumulative = TenantCounters & { coldStarts: number };

/**
 * Turns this process's live figures into history points. Counters (jobs finished, dead letters, throttles,
 * cold starts) are cumulative in memory since the process started, so a point is the difference from the
 * previous sample of this sampler (the first sample after a start counts from the start).
 */
export function createMetricsSampler(deps: MetricsSamplerDeps) {
  const previous = new Map<string, Cumulative>();
  const forgotten = new Set<string>();

  return {
    /** The points of one sample at `at` (epoch ms), and the tenants that no longer exist. */
    async sample(at: number): Promise<{ points: MetricPoint[]; gone: string[] }> {
      const queued = await queuedJobsByTenant(deps.queue);
      const coldStarts = new Map<string, number>();
      for (const f of deps.functions?.() ?? [])
        coldStarts.set(f.tenantId, (coldStarts.get(f.tenantId) ?? 0) + f.coldStarts);
      const candidates = [...new Set([...deps.metrics.tenants(), ...queued.keys(), ...coldStarts.keys()])];
      const points: MetricPoint[] = [];
      const gone: string[] = [];
      const platform = new Map<HistoryMetric, number>();
      const add = (scope: string, metric: HistoryMetric, value: number) => {
        points.push({ at, scope, metric, value });
        const total = platform.get(metric) ?? 0;
        platform.set(metric, metric === 'wait_p95_seconds' ? Math.max(total, value) : total + value);
      };
      for (const tenantId of candidates.sort()) {
        if (!(await deps.tenantExists(tenantId))) {
          if (!forgotten.has(tenantId)) gone.push(tenantId);
          forgotten.add(tenantId);
          previous.delete(tenantId);
          // Its counters too, or a tenant onboarded again under the id would count its predecessor's
          // jobs in its first point (counted from zero, the baseline just dropped).
          deps.metrics.forget(tenantId);
          continue;
        }
        // Onboarded again: when it goes, it is gone again.
        forgotten.delete(tenantId);
        const live = deps.metrics.live(tenantId);
        const now: Cumulative = {
          ...deps.metrics.counters(tenantId),
          coldStarts: coldStarts.get(tenantId) ?? 0,
        };
        const before = previous.get(tenantId) ?? {
          succeeded: 0,
          failed: 0,
          throttled: 0,
          deadLettered: 0,
          coldStarts: 0,
        };
        previous.set(tenantId, now);
        // A counter that went down was reset (a function's process replaced): count from zero again.
        const delta = (key: keyof Cumulative) =>
          now[key] >= before[key] ? now[key] - before[key] : now[key];
        let waiting = 0;
        for (const n of queued.get(tenantId)?.values() ?? []) waiting += n;
        add(tenantId, 'queue_depth', waiting);
        add(tenantId, 'jobs_running', live.running);
        add(tenantId, 'wait_p95_seconds', live.waitP95Sec);
        add(tenantId, 'jobs_succeeded', delta('succeeded'));
        add(tenantId, 'jobs_failed', delta('failed'));
        add(tenantId, 'dead_letters', delta('deadLettered'));
        add(tenantId, 'submits_throttled', delta('throttled'));
        add(tenantId, 'cold_starts', delta('coldStarts'));
      }
      for (const [metric, value] of platform) points.push({ at, scope: '', metric, value });
      if (deps.diskSpace) {
        const disk = await deps.diskSpace();
        points.push(
          {
            at,
            scope: '',
            metric: 'data_dir_free_ratio',
            value: disk.sizeBytes > 0 ? disk.freeBytes / disk.sizeBytes : 0,
          },
          { at, scope: '', metric: 'data_dir_free_bytes', value: disk.freeBytes },
          { at, scope: '', metric: 'data_dir_min_free_bytes', value: disk.minFreeBytes },
        );
      }
      return { points, gone };
    },
  };
}

export interface MetricsHistoryOptions {
  store: MetricsHistoryStore;
  sampler: ReturnType<typeof createMetricsSampler>;
  /** Time between samples, ms (`SILOPOOL_METRICS_INTERVAL_SEC`, default 60 s). */
  intervalMs: number;
  /** Points older than this are deleted, ms (`SILOPOOL_METRICS_RETENTION_DAYS`, default 14 days). */
  retentionMs: number;
  onError(error: unknown): void;
  now?: () => number;
}

/**
 * Samples every `intervalMs` (and once at start), writes the points, deletes what is past retention and
 * the history of tenants that are gone. `sampleNow` takes a sample at once (tests, shutdown).
 */
export function startMetricsHistory(options: MetricsHistoryOptions) {
  const now = options.now ?? Date.now;
  let running: Promise<void> = Promise.resolve();
  const once = async () => {
    const at = now();
    const { points, gone } = await options.sampler.sample(at);
    await options.store.record(points);
    for (const tenantId of gone) await options.store.forgetTenant(tenantId);
    await options.store.prune(at - options.retentionMs);
  };
  const sampleNow = () => {
    running = running.then(once).catch(options.onError);
    return running;
  };
  void sampleNow();
  const timer = setInterval(sampleNow, options.intervalMs);
  timer.unref();
  return {
    sampleNow,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Points held in memory at most while the store cannot write them (a full disk): about a day of 10 tenants. */
const MAX_PENDING_POINTS = 50_000;

/**
 * The history store, with what it failed to write kept in memory (bounded, oldest dropped first) and
 * written with the next sample: on a full disk the samples that show it are still read by the alerts.
 */
export function bufferedHistory(store: MetricsHistoryStore): MetricsHistoryStore {
  let pending: MetricPoint[] = [];
  return {
    ...store,
    async record(points) {
      const all = [...pending, ...points];
      try {
        await store.record(all);
        pending = [];
      } catch (error) {
        pending = all.slice(-MAX_PENDING_POINTS);
        throw error;
      }
    },
    async query(q, limit) {
      const stored = await store.query(q, limit);
      const held = pending.filter(
        (p) =>
          p.metric === q.metric &&
          (q.scope === undefined || p.scope === q.scope) &&
          p.at >= q.from &&
          p.at <= q.to,
      );
      return held.length === 0 ? stored : [...stored, ...held].sort((a, b) => a.at - b.at).slice(-limit);
    },
    async prune(before) {
      pending = pending.filter((p) => p.at >= before);
      return store.prune(before);
    },
    async forgetTenant(tenantId) {
      pending = pending.filter((p) => p.scope !== tenantId);
      await store.forgetTenant(tenantId);
    },
  };
}
