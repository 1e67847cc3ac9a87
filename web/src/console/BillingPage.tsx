import { lazy, Suspense, useState } from 'react';
import { type BillingPlan, type BillingSummary, COST_CURRENCY } from '../../../src/client/index.ts';
import { useAsync, useSession } from '../api.tsx';
import { formatMoney, METER_LABELS, meterValue, StatementTable } from '../billing/money.tsx';
import { useTitle } from '../router.tsx';
import { type Column, DataTable } from '../ui/DataTable.tsx';
import { SelectField } from '../ui/Field.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading } from '../ui/States.tsx';

const PLAN_COLUMNS: Column<BillingPlan>[] = [
  { header: 'Plan', cell: (p) => p.name },
  { header: 'Limits tier', cell: (p) => p.tier },
  { header: 'Base fee', num: true, cell: (p) => formatMoney(p.baseFee, p.currency) },
  {
    header: 'Included',
    cell: (p) =>
      Object.entries(p.included)
        .map(([m, q]) => `${METER_LABELS[m] ?? m} ${meterValue(m, q ?? 0)}`)
        .join(', ') || '–',
  },
  { header: 'Dedicated surcharge', num: true, cell: (p) => formatMoney(p.dedicatedSurcharge, p.currency) },
];

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
  const tenantColumns: Column<BillingSummary['items'][number]>[] = [
    {
      header: 'Tenant',
      cell: (s) => (
        <button type="button" onClick={() => setTenant(s.tenantId)}>
          {s.tenantId}
        </button>
      ),
    },
    { header: 'Jobs', num: true, cell: (s) => meterValue('jobs', s.usage.jobs) },
    { header: 'Revenue', num: true, cell: (s) => formatMoney(s.total, s.currency) },
    { header: 'Cost', num: true, cell: (s) => formatMoney(s.cost, 'USD') },
    { header: 'Margin', num: true, cell: (s) => formatMoney(s.margin, 'USD') },
  ];
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
        <DataTable
          label="Revenue, cost and margin per tenant"
          caption={
            <>
              {summary.data.month} · {summary.data.closed ? 'closed' : 'open'} · costs from{' '}
              {summary.data.costTable}
            </>
          }
          columns={tenantColumns}
          rows={summary.data.items}
          rowKey={(s) => s.tenantId}
          footer={<PlatformRows totals={summary.data.totals} />}
        />
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
        <DataTable label="Plans" columns={PLAN_COLUMNS} rows={plans.data} rowKey={(p) => p.id} />
      ) : null}
    </section>
  );
}

/**
 * The platform's totals, one row per statement currency: revenue in that currency, the cost of the same
 * tenants (USD), and the margin where both are USD (n/a otherwise: no exchange rate is assumed). With
 * several currencies a last row gives every tenant's cost. Never a sum across currencies.
 */
function PlatformRows({ totals }: { totals: BillingSummary['totals'] }) {
  const rows = totals.byCurrency;
  return (
    <>
      {rows.map((t) => (
        <tr key={t.currency}>
          <th scope="row">{rows.length > 1 ? `Platform (${t.currency})` : 'Platform'}</th>
          <td />
          <td className="num">{formatMoney(t.revenue, t.currency)}</td>
          <td className="num">{formatMoney(t.cost, COST_CURRENCY)}</td>
          <td className="num">
            {t.margin === null ? (
              <abbr title={t.marginUnavailable}>n/a</abbr>
            ) : (
              formatMoney(t.margin, COST_CURRENCY)
            )}
          </td>
        </tr>
      ))}
      {rows.length > 1 ? (
        <tr>
          <th scope="row">Platform cost (all tenants)</th>
          <td />
          <td />
          <td className="num">{formatMoney(totals.platformCost, COST_CURRENCY)}</td>
          <td />
        </tr>
      ) : null}
    </>
  );
}
