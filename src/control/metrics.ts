import { isTerminal, type JobRecord } from '../core/job.ts';
import type { ThrottleReason } from './admission.ts';

/** Upper bounds of the wait-time histogram, seconds: from a busy-free start to an hour-long backlog. */
export const WAIT_BUCKETS_SEC = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const;
/** Waits kept per tenant for percentiles: the recent past, not all history. */
const RECENT_WAITS = 1024;

interface TenantState {
  running: Set<string>;
  throttled: Map<ThrottleReason, number>;
  finished: Map<string, number>;
  recovered: Map<RecoveryAction, number>;
  /** Cumulative counts per bucket of WAIT_BUCKETS_SEC, then +Inf. */
  waitBuckets: number[];
  waitSum: number;
  waitCount: number;
  recentWaits: number[];
  recentNext: number;
}

/**
 * What the platform did for a job that lost its way: a dead letter settled as failed, or a job found
 * without a live message that the reconciler settled or sent again.
 */
export type RecoveryAction = 'dead_letter_settled' | 'reconciled_settled' | 'reconciled_resent';

/** Cumulative counts of this process since it started, per tenant: what metrics history turns into deltas. */
export interface TenantCounters {
  succeeded: number;
  failed: number;
  throttled: number;
  deadLettered: number;
}

export interface LiveTenantFigures {
  running: number;
  throttled: number;
  waitP50Sec: number;
  waitP95Sec: number;
}

/**
 * Per-tenant operational figures of this process, fed by job status events and admission: jobs running,
 * queued→started waits, throttled submits, finished jobs by status. Queue depth is read at scrape time.
 */
export interface TenantMetrics {
  /** A job's status change (a relayed notice carries these fields of its record). */
  observe(job: Pick<JobRecord, 'id' | 'tenantId' | 'status' | 'attempts' | 'createdAt' | 'startedAt'>): void;
  recordThrottle(tenantId: string, reason: ThrottleReason): void;
  recordRecovery(tenantId: string, action: RecoveryAction): void;
  live(tenantId: string): LiveTenantFigures;
  counters(tenantId: string): TenantCounters;
  tenants(): string[];
  /** Drops every figure of the tenant: it is gone, and its id may be onboarded again by another customer. */
  forget(tenantId: string): void;
  /**
   * The Prometheus text exposition, given the waiting jobs per tenant and model. With `current` (the
   * tenants the directory holds now), tenants not in it are left out and their figures dropped: an
   * offboarded tenant leaves every series, and a job event heard after it went adds nothing back.
   */
  render(queued: Map<string, Map<string, number>>, current?: ReadonlySet<string>): string;
}

export function createTenantMetrics(): TenantMetrics {
  const tenants = new Map<string, TenantState>();
  const stateOf = (tenantId: string): TenantState => {
    let state = tenants.get(tenantId);
    if (!state) {
      state = {
        running: new Set(),
        throttled: new Map(),
        finished: new Map(),
        recovered: new Map(),
        waitBuckets: new Array(WAIT_BUCKETS_SEC.length + 1).fill(0),
        waitSum: 0,
        waitCount: 0,
        recentWaits: [],
        recentNext: 0,
      };
      tenants.set(tenantId, state);
    }
    return state;
  };

  const observeWait = (state: TenantState, seconds: number) => {
    for (let i = 0; i < WAIT_BUCKETS_SEC.length; i++)
      if (seconds <= WAIT_BUCKETS_SEC[i]!) state.waitBuckets[i]!++;
    state.waitBuckets[WAIT_BUCKETS_SEC.length]!++;
    state.waitSum += seconds;
    state.waitCount++;
    if (state.recentWaits.length < RECENT_WAITS) state.recentWaits.push(seconds);
    else state.recentWaits[state.recentNext] = seconds;
    state.recentNext = (state.recentNext + 1) % RECENT_WAITS;
  };

  return {
    observe(job) {
      const state = stateOf(job.tenantId);
      if (job.status === 'running') {
        // attempts 1 is the first start; a redelivery taking a job over is not a second wait.
        if (job.attempts === 1 && job.startedAt && !state.running.has(job.id)) {
          const wait = (Date.parse(job.startedAt) - Date.parse(job.createdAt)) / 1000;
          if (Number.isFinite(wait)) observeWait(state, Math.max(0, wait));
        }
        state.running.add(job.id);
      } else if (isTerminal(job.status)) {
        state.running.delete(job.id);
        state.finished.set(job.status, (state.finished.get(job.status) ?? 0) + 1);
      }
    },
    recordThrottle(tenantId, reason) {
      const throttled = stateOf(tenantId).throttled;
      throttled.set(reason, (throttled.get(reason) ?? 0) + 1);
    },
    recordRecovery(tenantId, action) {
      const recovered = stateOf(tenantId).recovered;
      recovered.set(action, (recovered.get(action) ?? 0) + 1);
    },
    live(tenantId) {
      const state = tenants.get(tenantId);
      if (!state) return { running: 0, throttled: 0, waitP50Sec: 0, waitP95Sec: 0 };
      const sorted = [...state.recentWaits].sort((a, b) => a - b);
      let throttled = 0;
      for (const n of state.throttled.values()) throttled += n;
      return {
        running: state.running.size,
        throttled,
        waitP50Sec: percentile(sorted, 0.5),
        waitP95Sec: percentile(sorted, 0.95),
      };
    },
    counters(tenantId) {
      const state = tenants.get(tenantId);
      let throttled = 0;
      for (const n of state?.throttled.values() ?? []) throttled += n;
      return {
        succeeded: state?.finished.get('succeeded') ?? 0,
        failed: state?.finished.get('failed') ?? 0,
        throttled,
        deadLettered: state?.recovered.get('dead_letter_settled') ?? 0,
      };
    },
    tenants: () => [...tenants.keys()],
    forget(tenantId) {
      tenants.delete(tenantId);
    },
    render(queued, current) {
      if (current) for (const id of [...tenants.keys()]) if (!current.has(id)) tenants.delete(id);
      const out: string[] = [];
      const ids = [...new Set([...tenants.keys(), ...queued.keys()])]
        .filter((id) => !current || current.has(id))
        .sort();
      family(out, 'silopool_queue_depth', 'gauge', 'Jobs waiting to start, per tenant and model.');
      for (const id of ids) {
        for (const [model, n] of queued.get(id) ?? [])
          out.push(sample('silopool_queue_depth', { tenant: id, model }, n));
      }
      family(out, 'silopool_jobs_running', 'gauge', 'Jobs running now, per tenant.');
      for (const id of ids)
        out.push(sample('silopool_jobs_running', { tenant: id }, tenants.get(id)?.running.size ?? 0));
      family(
        out,
        'silopool_job_wait_seconds',
        'histogram',
        'Time from submit to start of each job, per tenant.',
      );
      for (const [id, state] of sortedEntries(tenants)) {
        WAIT_BUCKETS_SEC.forEach((le, i) => {
          out.push(
            sample('silopool_job_wait_seconds_bucket', { tenant: id, le: String(le) }, state.waitBuckets[i]!),
          );
        });
        out.push(
          sample(
            'silopool_job_wait_seconds_bucket',
            { tenant: id, le: '+Inf' },
            state.waitBuckets[WAIT_BUCKETS_SEC.length]!,
          ),
        );
        out.push(sample('silopool_job_wait_seconds_sum', { tenant: id }, state.waitSum));
        out.push(sample('silopool_job_wait_seconds_count', { tenant: id }, state.waitCount));
      }
      family(
        out,
        'silopool_submits_throttled_total',
        'counter',
        'Submits refused with 429, per tenant and limit.',
      );
      for (const [id, state] of sortedEntries(tenants)) {
        for (const [reason, n] of state.throttled)
          out.push(sample('silopool_submits_throttled_total', { tenant: id, limit: reason }, n));
      }
      family(
        out,
        'silopool_jobs_finished_total',
        'counter',
        'Jobs that reached a final status, per tenant and status.',
      );
      for (const [id, state] of sortedEntries(tenants)) {
        for (const [status, n] of state.finished)
          out.push(sample('silopool_jobs_finished_total', { tenant: id, status }, n));
      }
      family(
        out,
        'silopool_jobs_recovered_total',
        'counter',
        'Jobs settled after their message was dead-lettered, or found without a live message and settled or sent again.',
      );
      for (const [id, state] of sortedEntries(tenants)) {
        for (const [action, n] of state.recovered)
          out.push(sample('silopool_jobs_recovered_total', { tenant: id, action }, n));
      }
      return `${out.join('\n')}\n`;
    },
  };
}

/** Nearest-rank percentile of sorted values; 0 when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

function sortedEntries<V>(map: Map<string, V>): [string, V][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function family(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

/** One sample line; label values escaped as the text format requires (backslash, quote, newline). */
export function sample(name: string, labels: Record<string, string>, value: number): string {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
  const text = Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  return `${name}{${body}} ${text}`;
}
