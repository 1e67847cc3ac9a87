import {
  Area,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { ChartTable } from '../ui/ChartTable.tsx';
import type { FanPoint } from './format.ts';

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/**
 * A Monte Carlo fan: the P5–P95 and P25–P75 ranges as shaded bands (recharts draws an Area whose value is a
 * `[low, high]` pair as a band) and the median as a line. A hidden table carries the same numbers.
 */
export default function FanChart({
  title,
  points,
  format,
}: {
  title: string;
  points: FanPoint[];
  format: (value: number) => string;
}) {
  const data = points.map((p) => ({
    label: String(p.year),
    outer: [p.p5, p.p95],
    inner: [p.p25, p.p75],
    median: p.p50,
  }));
  const show = (v: unknown) =>
    Array.isArray(v)
      ? v.map((x) => format(Number(x))).join(' to ')
      : typeof v === 'number'
        ? format(v)
        : String(v);
  return (
    <figure className="chart chart-fan">
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
            <Tooltip formatter={show} />
            <Legend />
            <ReferenceLine y={0} stroke="#57606a" />
            <Area
              dataKey="outer"
              name="P5 to P95"
              stroke="none"
              fill="#0b5cad"
              fillOpacity={0.18}
              isAnimationActive={false}
            />
            <Area
              dataKey="inner"
              name="P25 to P75"
              stroke="none"
              fill="#0b5cad"
              fillOpacity={0.38}
              isAnimationActive={false}
            />
            <Line
              dataKey="median"
              name="Median"
              stroke="#9a3412"
              strokeWidth={2}
              dot={false}
              isAnimationActive={false}
            />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <ChartTable
        caption={title}
        columns={['Year', 'P5', 'P25', 'Median', 'P75', 'P95']}
        rows={points.map((p) => ({
          key: String(p.year),
          cells: [String(p.year), ...[p.p5, p.p25, p.p50, p.p75, p.p95].map(format)],
        }))}
      />
    </figure>
  );
}
