import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { BillingMonth } from '../../../src/client/index.ts';

/** Revenue, cost and margin of the platform per month, in dollars. */
export default function BillingChart({ months }: { months: BillingMonth[] }) {
  const data = months.map((m) => {
    const sum = (f: (t: BillingMonth['tenants'][number]) => number) =>
      m.tenants.reduce((a, t) => a + f(t), 0) / 100;
    return {
      month: m.month,
      revenue: sum((t) => (t.currency === 'USD' ? t.revenue : 0)),
      cost: sum((t) => t.cost),
      margin: sum((t) => t.margin ?? 0),
    };
  });
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
    </figure>
  );
}
