import { useId, useState } from 'react';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ActiveAlert, MetricsHistory } from '../../../src/client/index.ts';
import { useAsync, useInterval, useSession } from '../api.tsx';
import { useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading } from '../ui/States.tsx';

/** The metrics the server keeps history of (HISTORY_METRICS in src/control/metrics-history.ts). */
const METRICS: { value: string; label: string; platformOnly?: boolean }[] = [
  { value: 'queue_depth', label: 'Jobs waiting' },
  { value: 'jobs_running', label: 'Jobs running' },
  { value: 'wait_p95_seconds', label: 'Wait to start, p95 (s)' },
  { value: 'jobs_succeeded', label: 'Jobs succeeded' },
  { value: 'jobs_failed', label: 'Jobs failed' },
  { value: 'dead_letters', label: 'Jobs dead-lettered' },
  { value: 'submits_throttled', label: 'Submits throttled (429)' },
  { value: 'cold_starts', label: 'Cold starts' },
  { value: 'data_dir_free_ratio', label: 'Free space of DATA_DIR', platformOnly: true },
];
const RANGES = [
  { value: 3_600_000, label: 'Last hour' },
  { value: 86_400_000, label: 'Last 24 hours' },
  { value: 7 * 86_400_000, label: 'Last 7 days' },
  { value: 14 * 86_400_000, label: 'Last 14 days' },
];

/** Metrics history kept by the server (it outlives this tab and a restart), with a tenant filter, and alerts firing now. */
export function MetricsPage() {
  useTitle('Metrics');
  const { client } = useSession();
  const [metric, setMetric] = useState('jobs_succeeded');
  const [tenantId, setTenantId] = useState('');
  const [range, setRange] = useState(RANGES[1]!.value);
  const platformOnly = METRICS.find((m) => m.value === metric)?.platformOnly;
  const scope = platformOnly ? '' : tenantId;
  const tenants = useAsync(() => client.listTenants({ limit: 500 }), []);
  const alerts = useAsync(() => client.alerts(), []);
  const history = useAsync(
    () =>
      client.metricsHistory(metric, {
        tenantId: scope || undefined,
        from: new Date(Date.now() - range).toISOString(),
      }),
    [metric, scope, range],
  );
  useInterval(() => {
    alerts.reload();
    history.reload();
  }, 15_000);
  const ids = { metric: useId(), tenant: useId(), range: useId() };

  return (
    <section>
      <h1>Metrics</h1>
      <h2>Alerts</h2>
      <ProblemBanner error={alerts.error} onRetry={alerts.reload} />
      {alerts.data ? <AlertList alerts={alerts.data.items} /> : <Loading label="Loading alerts…" />}

      <h2>History</h2>
      <div className="filters">
        <div className="field">
          <label htmlFor={ids.metric}>Metric</label>
          <select id={ids.metric} value={metric} onChange={(e) => setMetric(e.target.value)}>
            {METRICS.map((m) => (
              <option key={m.value} value={m.value}>
                {m.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.tenant}>Tenant</label>
          <select
            id={ids.tenant}
            value={scope}
            disabled={platformOnly}
            onChange={(e) => setTenantId(e.target.value)}
          >
            <option value="">Whole platform</option>
            {(tenants.data?.items ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({t.id})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.range}>Period</label>
          <select id={ids.range} value={range} onChange={(e) => setRange(Number(e.target.value))}>
            {RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ProblemBanner error={history.error ?? tenants.error} onRetry={history.reload} />
      {history.loading && !history.data ? <Loading label="Loading history…" /> : null}
      {history.data ? <HistoryChart history={history.data} /> : null}
    </section>
  );
}

function AlertList({ alerts }: { alerts: ActiveAlert[] }) {
  if (alerts.length === 0) return <p role="status">No alert is firing.</p>;
  return (
    <ul className="alerts" aria-label="Alerts firing now">
      {alerts.map((a) => (
        <li
          key={`${a.name}:${a.tenantId ?? ''}`}
          className={`banner banner-${a.severity === 'critical' ? 'error' : 'warning'}`}
        >
          <strong>{a.name}</strong> ({a.severity}){a.tenantId ? ` — tenant ${a.tenantId}` : ' — platform'}:{' '}
          {a.summary} <span className="muted">See {a.runbook}</span>
        </li>
      ))}
    </ul>
  );
}

function HistoryChart({ history }: { history: MetricsHistory }) {
  if (history.points.length === 0)
    return <Empty title="No samples in this period yet. The server samples every minute." />;
  const ratio = history.unit === 'ratio';
  const data = history.points.map((p) => ({
    time: new Date(p.at).toLocaleString(),
    value: ratio ? p.value * 100 : p.value,
  }));
  const unit = ratio ? '%' : history.unit;
  const total = history.kind === 'delta' ? history.points.reduce((t, p) => t + p.value, 0) : undefined;
  const scope = history.tenantId ? `tenant ${history.tenantId}` : 'the whole platform';
  return (
    <figure className="chart">
      <figcaption>
        {history.title} ({unit}), {scope}
        {total !== undefined ? `: ${total.toLocaleString()} in this period` : ''}
      </figcaption>
      <div className="chart-box" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#d0d7de" />
            <XAxis dataKey="time" tick={{ fill: '#1f2328', fontSize: 12 }} minTickGap={32} />
            <YAxis tick={{ fill: '#1f2328', fontSize: 12 }} width={56} />
            <Tooltip />
            <Line
              type="monotone"
              dataKey="value"
              name={history.title}
              stroke="#0b5cad"
              dot={false}
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </div>
      {/* The sr-only box is a div: a table ignores width: 1px and would widen the page. */}
      <div className="sr-only">
        <table>
          <caption>
            {history.title}, {scope}
          </caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Value ({unit})</th>
            </tr>
          </thead>
          <tbody>
            {data.slice(-50).map((d) => (
              <tr key={d.time}>
                <td>{d.time}</td>
                <td>{d.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
