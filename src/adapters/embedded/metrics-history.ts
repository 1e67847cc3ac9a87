import type { MetricPoint, MetricsHistoryStore } from '../../ports/metrics-history.ts';
import type { SqliteDatabase } from './database.ts';

/** The table (in the main database), made where history is written and where offboarding erases it. */
export function ensureMetricsHistoryTable(db: SqliteDatabase): void {
  db.exec(`CREATE TABLE IF NOT EXISTS metrics_history (
    metric TEXT NOT NULL,
    scope TEXT NOT NULL,
    at INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (metric, scope, at)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS metrics_history_at ON metrics_history (at);
  CREATE INDEX IF NOT EXISTS metrics_history_scope ON metrics_history (scope);`);
}

/**
 * Metrics history in the main database. The key (metric, scope, at) serves the only query there is — one
 * metric over a time range, for one scope or all — and makes a repeated sample a no-op.
 */
export function createSqliteMetricsHistory(db: SqliteDatabase): MetricsHistoryStore {
  ensureMetricsHistoryTable(db);
  const stmt = {
    insert: db.prepare(
      'INSERT OR IGNORE INTO metrics_history (metric, scope, at, value) VALUES (?, ?, ?, ?)',
    ),
    one: db.prepare<[string, string, number, number, number], MetricPoint>(
      `SELECT at, scope, metric, value FROM (
         SELECT at, scope, metric, value FROM metrics_history
         WHERE metric = ? AND scope = ? AND at BETWEEN ? AND ? ORDER BY at DESC LIMIT ?
       ) ORDER BY at`,
    ),
    all: db.prepare<[string, number, number, number], MetricPoint>(
      `SELECT at, scope, metric, value FROM (
         SELECT at, scope, metric, value FROM metrics_history
         WHERE metric = ? AND at BETWEEN ? AND ? ORDER BY at DESC LIMIT ?
       ) ORDER BY at, scope`,
    ),
    prune: db.prepare('DELETE FROM metrics_history WHERE at < ?'),
    forget: db.prepare('DELETE FROM metrics_history WHERE scope = ?'),
  };
  const insertAll = db.transaction((points: readonly MetricPoint[]) => {
    for (const p of points) stmt.insert.run(p.metric, p.scope, p.at, p.value);
  });
  return {
    async record(points) {
      insertAll(points);
    },
    async query(q, limit) {
      return q.scope === undefined
        ? stmt.all.all(q.metric, q.from, q.to, limit)
        : stmt.one.all(q.metric, q.scope, q.from, q.to, limit);
    },
    async prune(before) {
      return stmt.prune.run(before).changes;
    },
    async forgetTenant(tenantId) {
      stmt.forget.run(tenantId);
    },
  };
}
