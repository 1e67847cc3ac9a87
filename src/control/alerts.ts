import type { MetricPoint, MetricsHistoryStore } from '../ports/metrics-history.ts';
import type { HistoryMetric } from './metrics-history.ts';

/**
 * The platform's alert rules, defined once: the same rule is evaluated here on metrics history (active
 * alerts in the console and `GET /v1/admin/alerts`) and shipped as a Prometheus rule (`expr`, written to
 * ops/prometheus/alerts.yml by `npm run ops:files`) over the `/metrics` exposition.
 */
export interface AlertRule {
  name: string;
  severity: 'warning' | 'critical';
  summary: string;
  /** What an operator should look at first. */
  runbook: string;
  /** PromQL over `/metrics`; one series per tenant unless the rule is about the platform. */
  expr: string;
  /** Prometheus `for:` — how long the condition holds before the alert fires there. */
  for: string;
  /** Window of history the in-process evaluation reads, ms, and the history metrics it reads. */
  windowMs: number;
  reads: readonly HistoryMetric[];
  /** In-process evaluation on history: the scopes (tenant ids, `''` for the platform) firing, with the value. */
  evaluate(history: HistoryWindow): { scope: string; value: number }[];
}

/** Points of the last `windowMs` by metric, then scope, oldest first. */
export type HistoryWindow = (metric: HistoryMetric) => Map<string, MetricPoint[]>;

const MINUTE = 60_000;
const sum = (points: readonly MetricPoint[]) => points.reduce((t, p) => t + p.value, 0);
const last = (points: readonly MetricPoint[]) => points.at(-1)?.value ?? 0;
const tenantsOnly = (m: Map<string, MetricPoint[]>) => [...m].filter(([scope]) => scope !== '');

/** Failure rate above which a tenant's jobs alert, with at least this many finished in the window. */
export const FAILURE_RATE_THRESHOLD = 0.1;
export const FAILURE_RATE_MIN_JOBS = 5;
/** p95 wait from submit to start, seconds, above which a tenant alerts. */
export const WAIT_P95_THRESHOLD_SEC = 60;
/** Free fraction of DATA_DIR's filesystem below which the platform alerts (also below SILOPOOL_MIN_FREE_BYTES). */
export const DISK_FREE_RATIO_THRESHOLD = 0.1;
/** Cold starts of one tenant's dedicated functions in 15 minutes above which it alerts (keep it warm). */
export const COLD_STARTS_THRESHOLD = 10;

export const ALERT_RULES: readonly AlertRule[] = [
  {
    name: 'SilopoolDeadLetters',
    severity: 'critical',
    summary: 'Jobs of a tenant were dead-lettered (settled as failed after repeated failed receives).',
    runbook:
      "docs/operations.md#monitoring-and-alerts: read the tenant's dead-lettered jobs, fix the cause, redrive.",
    expr: 'sum by (tenant) (increase(silopool_jobs_recovered_total{action="dead_letter_settled"}[15m])) > 0',
    for: '0m',
    windowMs: 15 * MINUTE,
    reads: ['dead_letters'],
    evaluate: (h) =>
      tenantsOnly(h('dead_letters'))
        .map(([scope, points]) => ({ scope, value: sum(points) }))
        .filter((a) => a.value > 0),
  },
  {
    name: 'SilopoolJobFailureRate',
    severity: 'warning',
    summary: `More than ${FAILURE_RATE_THRESHOLD * 100} % of a tenant's jobs failed in 15 minutes.`,
    runbook: "docs/operations.md#monitoring-and-alerts: the tenant's failed jobs and their errors.",
    expr: `(sum by (tenant) (increase(silopool_jobs_finished_total{status="failed"}[15m])) / sum by (tenant) (increase(silopool_jobs_finished_total[15m])) > ${FAILURE_RATE_THRESHOLD}) and on (tenant) sum by (tenant) (increase(silopool_jobs_finished_total[15m])) >= ${FAILURE_RATE_MIN_JOBS}`,
    for: '5m',
    windowMs: 15 * MINUTE,
    reads: ['jobs_failed', 'jobs_succeeded'],
    evaluate: (h) => {
      const failed = h('jobs_failed');
      const succeeded = h('jobs_succeeded');
      return tenantsOnly(failed)
        .map(([scope, points]) => {
          const f = sum(points);
          const total = f + sum(succeeded.get(scope) ?? []);
          return { scope, value: total >= FAILURE_RATE_MIN_JOBS ? f / total : 0 };
        })
        .filter((a) => a.value > FAILURE_RATE_THRESHOLD);
    },
  },
  {
    name: 'SilopoolQueueWaitP95',
    severity: 'warning',
    summary: `A tenant's jobs wait more than ${WAIT_P95_THRESHOLD_SEC} s to start (p95).`,
    runbook:
      'docs/operations.md#monitoring-and-alerts: a noisy neighbour (the advisor) or too few functions.',
    expr: `histogram_quantile(0.95, sum by (tenant, le) (rate(silopool_job_wait_seconds_bucket[10m]))) > ${WAIT_P95_THRESHOLD_SEC}`,
    for: '10m',
    windowMs: 10 * MINUTE,
    reads: ['wait_p95_seconds'],
    evaluate: (h) =>
      tenantsOnly(h('wait_p95_seconds'))
        .map(([scope, points]) => ({ scope, value: last(points) }))
        .filter((a) => a.value > WAIT_P95_THRESHOLD_SEC),
  },
  {
    name: 'SilopoolDiskSpaceLow',
    severity: 'critical',
    summary: `DATA_DIR's filesystem has less than ${DISK_FREE_RATIO_THRESHOLD * 100} % free, or less than SILOPOOL_MIN_FREE_BYTES.`,
    runbook:
      'docs/operations.md#a-full-disk: submits answer 507 below the minimum; free space or grow the volume.',
    expr: `silopool_data_dir_free_bytes / silopool_data_dir_size_bytes < ${DISK_FREE_RATIO_THRESHOLD} or silopool_data_dir_free_bytes < silopool_data_dir_min_free_bytes`,
    for: '5m',
    windowMs: 5 * MINUTE,
    reads: ['data_dir_free_ratio', 'data_dir_free_bytes', 'data_dir_min_free_bytes'],
    evaluate: (h) => {
      const ratio = last(h('data_dir_free_ratio').get('') ?? []);
      const free = h('data_dir_free_bytes').get('') ?? [];
      const min = last(h('data_dir_min_free_bytes').get('') ?? []);
      if (free.length === 0) return [];
      return ratio < DISK_FREE_RATIO_THRESHOLD || last(free) < min ? [{ scope: '', value: ratio }] : [];
    },
  },
  {
    name: 'SilopoolColdStarts',
    severity: 'warning',
    summary: `A tenant's dedicated functions started cold more than ${COLD_STARTS_THRESHOLD} times in 15 minutes.`,
    runbook:
      "docs/operations.md#monitoring-and-alerts: raise the tenant's function idleTimeoutSec (keep it warm).",
    expr: `sum by (tenant) (increase(silopool_function_cold_starts_total[15m])) > ${COLD_STARTS_THRESHOLD}`,
    for: '0m',
    windowMs: 15 * MINUTE,
    reads: ['cold_starts'],
    evaluate: (h) =>
      tenantsOnly(h('cold_starts'))
        .map(([scope, points]) => ({ scope, value: sum(points) }))
        .filter((a) => a.value > COLD_STARTS_THRESHOLD),
  },
];

export interface ActiveAlert {
  name: string;
  severity: AlertRule['severity'];
  summary: string;
  runbook: string;
  /** The tenant the alert is about, absent for the platform. */
  tenantId?: string;
  value: number;
}

/** Evaluates every rule on the history up to `at` (epoch ms); the alerts firing now, critical first. */
export async function activeAlerts(store: MetricsHistoryStore, at: number): Promise<ActiveAlert[]> {
  const out: ActiveAlert[] = [];
  for (const rule of ALERT_RULES) {
    const cache = new Map<HistoryMetric, Map<string, MetricPoint[]>>();
    const windowOf = async (metric: HistoryMetric) => {
      const byScope = new Map<string, MetricPoint[]>();
      for (const p of await store.query({ metric, from: at - rule.windowMs, to: at }, 100_000)) {
        const list = byScope.get(p.scope) ?? [];
        list.push(p);
        byScope.set(p.scope, list);
      }
      cache.set(metric, byScope);
    };
    for (const metric of rule.reads) await windowOf(metric);
    for (const { scope, value } of rule.evaluate((m) => cache.get(m) ?? new Map())) {
      out.push({
        name: rule.name,
        severity: rule.severity,
        summary: rule.summary,
        runbook: rule.runbook,
        ...(scope ? { tenantId: scope } : {}),
        value,
      });
    }
  }
  return out.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1));
}
