import { useAsync, useTenantClient } from '../api.tsx';
import { formatMoney, METER_LABELS, meterValue, StatementTable } from '../billing/money.tsx';
import { useTitle } from '../router.tsx';
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
          <div className="table-wrap">
            <table>
              <caption>Usage this month against the plan</caption>
              <thead>
                <tr>
                  <th scope="col">Meter</th>
                  <th scope="col" className="num">
                    Used
                  </th>
                  <th scope="col" className="num">
                    Included
                  </th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(u.usage).map(([meter, quantity]) => {
                  const included = u.plan.included[meter as keyof typeof u.plan.included];
                  return (
                    <tr key={meter}>
                      <td>{METER_LABELS[meter] ?? meter}</td>
                      <td className="num">{meterValue(meter, quantity)}</td>
                      <td className="num">{included === undefined ? '–' : meterValue(meter, included)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
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
