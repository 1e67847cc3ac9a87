/**
 * Metrics history: samples of per-tenant and platform figures kept by the platform itself, so charts and
 * alerts outlive a browser tab and a restart. `scope` is a tenant id, or `''` for the whole platform.
 * Times are epoch milliseconds (UTC). Embedded: a SQLite table with retention; AWS: CloudWatch keeps it.
 */
export interface MetricPoint {
  at: number;
  scope: string;
  metric: string;
  value: number;
}

export interface MetricsHistoryQuery {
  metric: string;
  /** One tenant, `''` for the platform, or absent for every scope. */
  scope?: string;
  /** Inclusive bounds, epoch ms. */
  from: number;
  to: number;
}

export interface MetricsHistoryStore {
  /** Writes one sample (many points, one instant) in one transaction; a point already there is kept. */
  record(points: readonly MetricPoint[]): Promise<void>;
  /** Points of one metric in the time range, oldest first, at most `limit` (newest kept when cut). */
  query(query: MetricsHistoryQuery, limit: number): Promise<MetricPoint[]>;
  /** Deletes every point older than `before` (epoch ms); returns how many went. */
  prune(before: number): Promise<number>;
  /** Deletes every point of one tenant (offboarding). */
  forgetTenant(tenantId: string): Promise<void>;
}
