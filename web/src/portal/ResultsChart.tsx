import { Bar, Line } from 'recharts';
import type { SeriesPoint } from '../../../src/client/index.ts';
import { PeriodChart } from './PeriodChart.tsx';

/**
 * One series of a job: bars for per-period flows (free cash flow by year), a line for a
 * cumulative curve (the fund's J-curve). A hidden table carries the same numbers for screen readers.
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
    <PeriodChart
      title={title}
      data={data}
      tooltip={(v) => (typeof v === 'number' ? format(v) : String(v))}
      table={{
        columns: ['Period', 'Value'],
        rows: data.map((d) => ({ key: d.label, cells: [d.label, format(d.value)] })),
      }}
    >
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
    </PeriodChart>
  );
}
