import { lazy, Suspense, useState } from 'react';
import { useAsync, useSession } from '../api.tsx';
import { formatMoney, METER_LABELS, meterValue, StatementTable } from '../billing/money.tsx';
import { useTitle } from '../router.tsx';
import { SelectField } from '../ui/Field.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading } from '../ui/States.tsx';

const BillingChart = lazy(() => import('./BillingChart.tsx'));

/** Revenue, cost and margin per tenant per month, the plans, and each tenant's statements. */
export function BillingPage() {
  useTitle('Billing');
  const { client } = useSession();
  const months = useAsync(() => client.billingMonths(6), []);
  const [month, setMonth] = useState('');
  const summary = useAsync(() => client.billingSummary(month || undefined), [month]);
  const plans = useAsync(() => client.plans(), []);
  const [tenant, setTenant] = useState('');
  const statements = useAsync(
    () => (tenant ? client.tenantStatements(tenant) : Promise.resolve([])),
    [tenant],
  );
  const monthOptions = (months.data ?? []).map((m) => m.month).reverse();
  return (
    <section>
      <h1>Billing</h1>
      <ProblemBanner error={months.error ?? summary.error ?? plans.error} onRetry={summary.reload} />
      {months.data ? (
        <Suspense fallback={<Loading label="Loading chart…" />}>
          <BillingChart months={months.data} />
        </Suspense>
      ) : null}
      <h2>Per tenant</h2>
      {monthOptions.length > 0 ? (
        <SelectField
          label="Month (UTC)"
          value={month || monthOptions[0]!}
          options={monthOptions}
          onChange={setMonth}
        />
      ) : null}
      {summary.loading && !summary.data ? <Loading label="Loading billing…" /> : null}
      {summary.data?.items.length === 0 ? <Empty title="No tenant has usage this month." /> : null}
      {summary.data && summary.data.items.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption>
              {summary.data.month} · {summary.data.closed ? 'closed' : 'open'} · costs from{' '}
              {summary.data.costTable}
            </caption>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col" className="num">
                  Jobs
                </th>
                <th scope="col" className="num">
                  Revenue
                </th>
                <th scope="col" className="num">
                  Cost
                </th>
                <th scope="col" className="num">
                  Margin
                </th>
              </tr>
            </thead>
            <tbody>
              {summary.data.items.map((s) => (
                <tr key={s.tenantId}>
                  <td>
                    <button type="button" onClick={() => setTenant(s.tenantId)}>
                      {s.tenantId}
                    </button>
                  </td>
                  <td className="num">{meterValue('jobs', s.usage.jobs)}</td>
                  <td className="num">{formatMoney(s.total, s.currency)}</td>
                  <td className="num">{formatMoney(s.cost, 'USD')}</td>
                  <td className="num">{formatMoney(s.margin, 'USD')}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Platform</th>
                <td />
                <td className="num">{formatMoney(summary.data.totals.revenue)}</td>
                <td className="num">{formatMoney(summary.data.totals.cost)}</td>
                <td className="num">{formatMoney(summary.data.totals.margin)}</td>
              </tr>
            </tfoot>
          </table>
        </div>
      ) : null}
      {tenant ? (
        <>
          <h2>Statements of {tenant}</h2>
          <ProblemBanner error={statements.error} onRetry={statements.reload} />
          {(statements.data ?? []).map((s) => (
            <StatementTable key={s.month} statement={s} />
          ))}
          <p>
            <button type="button" onClick={() => window.print()}>
              Print
            </button>
          </p>
        </>
      ) : null}
      <h2>Plans</h2>
      {plans.data ? (
        <div className="table-wrap">
          <table>
            <caption className="sr-only">Plans</caption>
            <thead>
              <tr>
                <th scope="col">Plan</th>
                <th scope="col">Limits tier</th>
                <th scope="col" className="num">
                  Base fee
                </th>
                <th scope="col">Included</th>
                <th scope="col" className="num">
                  Dedicated surcharge
                </th>
              </tr>
            </thead>
            <tbody>
              {plans.data.map((p) => (
                <tr key={p.id}>
                  <td>{p.name}</td>
                  <td>{p.tier}</td>
                  <td className="num">{formatMoney(p.baseFee, p.currency)}</td>
                  <td>
                    {Object.entries(p.included)
                      .map(([m, q]) => `${METER_LABELS[m] ?? m} ${meterValue(m, q ?? 0)}`)
                      .join(', ') || '–'}
                  </td>
                  <td className="num">{formatMoney(p.dedicatedSurcharge, p.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
