import { useAsync, useTenantClient } from '../api.tsx';
import { formatMoney, METER_LABELS, meterValue, StatementTable } from '../billing/money.tsx';
import { useTitle } from '../router.tsx';
import { DataTable } from '../ui/DataTable.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading } from '../ui/States.tsx';

/** The tenant's own usage this month against its plan, and its statements (never another tenant's). */
export function BillingPage({ tenantId }: { tenantId: string }) {
  useTitle('Usage and billing');
  const client = useTenantClient(tenantId);
  const usage = useAsync(() => client.billingUsage(), [tenantId]);
  const statements = useAsync(() => client.statements(), [tenantId]);
  const u = usage.data;
  return (
    <section>
      <h1>Usage and billing</h1>
      <ProblemBanner error={usage.error ?? statements.error} onRetry={usage.reload} />
      {usage.loading && !u ? <Loading label="Loading usage…" /> : null}
      {u ? (
        <>
          <p>
            {u.month} (UTC) on the <strong>{u.plan.name}</strong> plan · so far{' '}
            <strong>{formatMoney(u.total, u.currency)}</strong>
          </p>
          <DataTable
            label="Usage this month against the plan"
            caption="Usage this month against the plan"
            columns={[
              { header: 'Meter', cell: ([meter]) => METER_LABELS[meter] ?? meter },
              { header: 'Used', num: true, cell: ([meter, quantity]) => meterValue(meter, quantity) },
              {
                header: 'Included',
                num: true,
                cell: ([meter]) => {
                  const included = u.plan.included[meter as keyof typeof u.plan.included];
                  return included === undefined ? '–' : meterValue(meter, included);
                },
              },
            ]}
            rows={Object.entries(u.usage)}
            rowKey={([meter]) => meter}
          />
        </>
      ) : null}
      <h2>Statements</h2>
      {(statements.data ?? []).map((s) => (
        <StatementTable key={s.month} statement={s} />
      ))}
      <p>
        <button type="button" onClick={() => window.print()}>
          Print
        </button>
      </p>
    </section>
  );
}
