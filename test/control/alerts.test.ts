import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMetricsHistory } from '../../src/adapters/embedded/metrics-history.ts';
import { activeAlerts } from '../../src/control/alerts.ts';
import type { MetricPoint } from '../../src/ports/metrics-history.ts';

const MIN = 60_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A real SQLite history holding `points`. */
async function historyWith(points: MetricPoint[]) {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-alerts-'));
  dirs.push(dir);
  const store = createSqliteMetricsHistory(openDatabase(join(dir, 'h.sqlite')));
  await store.record(points);
  return store;
}

const p = (minutesAgo: number, scope: string, metric: string, value: number): MetricPoint => ({
  at: NOW - minutesAgo * MIN,
  scope,
  metric,
  value,
});
const names = (alerts: { name: string; tenantId?: string }[]) =>
  alerts.map((a) => `${a.name}:${a.tenantId ?? ''}`);

describe('alert rules evaluated on metrics history (hand-worked cases)', () => {
  it('dead letters: one in the last 15 minutes fires for that tenant only; one 16 minutes ago does not', async () => {
    const store = await historyWith([
      p(3, 'a1', 'dead_letters', 1),
      p(3, 'b1', 'dead_letters', 0),
      p(16, 'c1', 'dead_letters', 4),
      p(3, '', 'dead_letters', 1),
    ]);
    const alerts = await activeAlerts(store, NOW);
    expect(names(alerts)).toEqual(['SilopoolDeadLetters:a1']);
    expect(alerts[0]).toMatchObject({ severity: 'critical', value: 1 });
  });

  it('failure rate: 2 of 10 (20 %) fires, 1 of 10 (10 %, not above) does not, 3 of 4 (under 5 jobs) does not', async () => {
    const store = await historyWith([
      p(5, 'over', 'jobs_failed', 2),
      p(5, 'over', 'jobs_succeeded', 8),
      p(5, 'edge', 'jobs_failed', 1),
      p(5, 'edge', 'jobs_succeeded', 9),
      p(5, 'few', 'jobs_failed', 3),
      p(5, 'few', 'jobs_succeeded', 1),
    ]);
    const alerts = await activeAlerts(store, NOW);
    expect(names(alerts)).toEqual(['SilopoolJobFailureRate:over']);
    expect(alerts[0]!.value).toBeCloseTo(0.2, 12);
  });

  it('wait p95 reads the latest sample: 61 s fires, a tenant back to 5 s does not', async () => {
    const store = await historyWith([
      p(1, 'slow', 'wait_p95_seconds', 61),
      p(8, 'recovered', 'wait_p95_seconds', 300),
      p(1, 'recovered', 'wait_p95_seconds', 5),
    ]);
    expect(names(await activeAlerts(store, NOW))).toEqual(['SilopoolQueueWaitP95:slow']);
  });

  it('disk: under 10 % free, or under the minimum free bytes, fires for the platform', async () => {
    const low = await historyWith([
      p(1, '', 'data_dir_free_ratio', 0.05),
      p(1, '', 'data_dir_free_bytes', 5e9),
      p(1, '', 'data_dir_min_free_bytes', 1e8),
    ]);
    expect(names(await activeAlerts(low, NOW))).toEqual(['SilopoolDiskSpaceLow:']);
    const underMinimum = await historyWith([
      p(1, '', 'data_dir_free_ratio', 0.5),
      p(1, '', 'data_dir_free_bytes', 5e7),
      p(1, '', 'data_dir_min_free_bytes', 1e8),
    ]);
    expect(names(await activeAlerts(underMinimum, NOW))).toEqual(['SilopoolDiskSpaceLow:']);
    const fine = await historyWith([
      p(1, '', 'data_dir_free_ratio', 0.5),
      p(1, '', 'data_dir_free_bytes', 5e9),
      p(1, '', 'data_dir_min_free_bytes', 1e8),
    ]);
    expect(await activeAlerts(fine, NOW)).toEqual([]);
  });

  it('cold starts: 11 in 15 minutes fires, 10 does not; critical alerts are listed first', async () => {
    const store = await historyWith([
      p(2, 'churn', 'cold_starts', 6),
      p(9, 'churn', 'cold_starts', 5),
      p(2, 'ten', 'cold_starts', 10),
      p(2, 'churn', 'dead_letters', 1),
    ]);
    expect(names(await activeAlerts(store, NOW))).toEqual([
      'SilopoolDeadLetters:churn',
      'SilopoolColdStarts:churn',
    ]);
  });
});
