import { Area, Line } from 'recharts';
import type { FanPoint } from './format.ts';
import { PeriodChart } from './PeriodChart.tsx';

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
    <PeriodChart
      title={title}
      className="chart chart-fan"
      data={data}
      tooltip={show}
      legend
      table={{
        columns: ['Year', 'P5', 'P25', 'Median', 'P75', 'P95'],
        rows: points.map((p) => ({
          key: String(p.year),
          cells: [String(p.year), ...[p.p5, p.p25, p.p50, p.p75, p.p95].map(format)],
        })),
      }}
    >
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
    </PeriodChart>
  );
}
