import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ChartTable } from '../ui/ChartTable.tsx';
import type { UsageSample } from './UsagePage.tsx';

/** Jobs and failures of one tenant across the samples taken in this session. */
export default function UsageChart({ samples, tenantId }: { samples: UsageSample[]; tenantId: string }) {
  const data = samples.map((s) => {
    const u = s.items.find((i) => i.tenantId === tenantId);
    return {
      time: new Date(s.at).toLocaleTimeString(),
      jobs: u?.jobs ?? 0,
      failed: u?.failed ?? 0,
      computeSeconds: u?.computeSeconds ?? 0,
    };
  });
  if (data.length < 2) return <p className="muted">The chart appears after the second sample.</p>;
  return (
    <figure className="chart">
      <figcaption>{tenantId}: jobs, failures and compute seconds over time</figcaption>
      <div className="chart-box" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#d0d7de" />
            <XAxis dataKey="time" tick={{ fill: '#1f2328', fontSize: 12 }} minTickGap={24} />
            <YAxis tick={{ fill: '#1f2328', fontSize: 12 }} width={48} />
            <Tooltip />
            <Legend />
            <Line
              type="monotone"
              dataKey="jobs"
              name="Jobs"
              stroke="#0b5cad"
              dot={false}
              isAnimationActive={false}
            />
            <Line
              type="monotone"
              dataKey="failed"
              name="Failed"
              stroke="#b42318"
              dot={false}
              isAnimationActive={false}
            />
            <Line
              type="monotone"
              dataKey="computeSeconds"
              name="Compute (s)"
              stroke="#1a7f37"
              dot={false}
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <ChartTable
        caption={`${tenantId}: jobs, failures and compute seconds over time`}
        columns={['Time', 'Jobs', 'Failed', 'Compute (s)']}
        rows={data.map((d, i) => ({
          key: `${i}`,
          cells: [d.time, String(d.jobs), String(d.failed), d.computeSeconds.toLocaleString()],
        }))}
      />
    </figure>
  );
}
