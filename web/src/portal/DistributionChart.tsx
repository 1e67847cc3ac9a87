import { Bar, BarChart, CartesianGrid, LabelList, ResponsiveContainer, XAxis, YAxis } from 'recharts';
import { ChartTable } from '../ui/ChartTable.tsx';
import type { Distribution } from './format.ts';

/**
 * A Monte Carlo outcome's percentiles (P5 … P95) as bars labelled with their values: how wide the range of
 * results is, at a glance. A hidden table carries the same numbers. Animation off, as in the other charts.
 */
export default function DistributionChart({
  distribution,
  format,
}: {
  distribution: Distribution;
  format: (value: number) => string;
}) {
  const { title, points } = distribution;
  return (
    <figure className="chart">
      <figcaption>{title}: percentiles</figcaption>
      <div className="chart-box" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={points} margin={{ top: 24, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#d0d7de" />
            <XAxis dataKey="label" tick={{ fill: '#1f2328', fontSize: 12 }} />
            <YAxis tickFormatter={format} tick={{ fill: '#1f2328', fontSize: 12 }} width={64} />
            <Bar dataKey="value" name={title} fill="#0b5cad" isAnimationActive={false}>
              <LabelList
                dataKey="value"
                position="top"
                formatter={(v: unknown) => (typeof v === 'number' ? format(v) : '')}
                style={{ fill: '#1f2328', fontSize: 11 }}
              />
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <ChartTable
        caption={`${title}: percentiles`}
        columns={['Percentile', 'Value']}
        rows={points.map((p) => ({ key: p.label, cells: [p.label, format(p.value)] }))}
      />
    </figure>
  );
}
