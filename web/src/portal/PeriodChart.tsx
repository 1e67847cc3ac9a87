import type { ReactNode } from 'react';
import {
  CartesianGrid,
  ComposedChart,
  Legend,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { ChartTable } from '../ui/ChartTable.tsx';

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/**
 * The frame of the results' charts over periods: the caption, the chart (hidden from screen readers) with
 * periods on the x axis (`label` of each datum), compact values on the y axis and a line at zero, and the
 * same numbers as a hidden table (`table`). `children` are the series, drawn with animation off: a
 * half-drawn curve misreads as data, and it ignores prefers-reduced-motion.
 */
export function PeriodChart<T extends { label: string }>({
  title,
  className = 'chart',
  data,
  tooltip,
  legend = false,
  table,
  children,
}: {
  title: string;
  className?: string;
  data: T[];
  /** A hovered value as text (a band's `[low, high]` included). */
  tooltip: (value: unknown) => string;
  legend?: boolean;
  table: { columns: string[]; rows: { key: string; cells: string[] }[] };
  children: ReactNode;
}) {
  return (
    <figure className={className}>
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
            <Tooltip formatter={tooltip} />
            {legend ? <Legend /> : null}
            <ReferenceLine y={0} stroke="#57606a" />
            {children}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <ChartTable caption={title} columns={table.columns} rows={table.rows} />
    </figure>
  );
}
