import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { BillingMonth } from '../../../src/client/index.ts';
import { platformChartData } from './billing-chart-data.ts';

/**
 * Revenue, cost and margin per month, in dollars, of the tenants billed in USD (`platformChartData`);
 * tenants billed in another currency are named below the chart.
 */
export default function BillingChart({ months }: { months: BillingMonth[] }) {
  const { data, others } = platformChartData(months);
  return (
    <figure className="chart">
      <figcaption>Revenue, cost and margin per month (USD)</figcaption>
      <div className="chart-box" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" stroke="#d0d7de" />
            <XAxis dataKey="month" tick={{ fill: '#1f2328', fontSize: 12 }} />
            <YAxis tick={{ fill: '#1f2328', fontSize: 12 }} width={64} />
            <Tooltip />
            <Legend />
            <Bar dataKey="revenue" name="Revenue" fill="#0b5cad" isAnimationActive={false} />
            <Bar dataKey="cost" name="Cost" fill="#b42318" isAnimationActive={false} />
            <Bar dataKey="margin" name="Margin" fill="#1a7f37" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      {others.length > 0 ? (
        <p>
          Tenants billed in {others.join(', ')} are not in the chart: no exchange rate is assumed (see the
          totals per currency below).
        </p>
      ) : null}
    </figure>
  );
}
