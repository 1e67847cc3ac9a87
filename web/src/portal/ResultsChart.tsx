import {
  Bar,
  CartesianGrid,
  ComposedChart,
  Line,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { SeriesPoint } from '../../../src/client/index.ts';
import { ChartTable } from '../ui/ChartTable.tsx';

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/**
 * One series of a job: bars for per-period flows (free cash flow by year), a line for a
 * cumulative curve (the fund's J-curve). A hidden table carries the same numbers for screen readers.
 * Animation is off: a half-drawn curve misreads as data, and it ignores prefers-reduced-motion.
 */
export default function ResultsChart({
  title,
  points,
  format,
}: {
  title: string;
  points: SeriesPoint[];
  /** How a value reads (money in the job's currency): the tooltip and the table say it the same way. */
  format: (value: number) => string;
}) {
  const cumulative = /curve|cumulative/i.test(title);
  const data = points.map((p) => ({ label: String(p.label), value: p.value }));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div className="chart-box" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#d0d7de" />
            <XAxis dataKey="label" tick={{ fill: '#1f2328', fontSize: 12 }} />
            <YAxis
              tickFormatter={(v: number) => compact.format(v)}
              tick={{ fill: '#1f2328', fontSize: 12 }}
              width={56}
            />
            <Tooltip formatter={(v) => (typeof v === 'number' ? format(v) : String(v))} />
            <ReferenceLine y={0} stroke="#57606a" />
            {cumulative ? (
              <Line
                type="monotone"
                dataKey="value"
                name={title}
                stroke="#0b5cad"
                strokeWidth={2}
                dot
                isAnimationActive={false}
              />
            ) : (
              <Bar dataKey="value" name={title} fill="#0b5cad" isAnimationActive={false} />
            )}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <ChartTable
        caption={title}
        columns={['Period', 'Value']}
        rows={data.map((d) => ({ key: d.label, cells: [d.label, format(d.value)] }))}
      />
    </figure>
  );
}
