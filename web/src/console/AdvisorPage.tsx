import { useState } from 'react';
import type { PlacementAdvice } from '../../../src/client/index.ts';
import { useAsync, useSession } from '../api.tsx';
import { formatUsd } from '../portal/format.ts';
import { navigate, useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading } from '../ui/States.tsx';
import { TableFrame } from '../ui/TableFrame.tsx';

const ACTION_LABEL: Record<PlacementAdvice['action'], string> = {
  keep: 'Keep',
  promote: 'Promote to dedicated',
  demote: 'Demote to shared',
};

/** The placement advisor: where each tenant should run, why, what it costs; one click starts a move. */
export function AdvisorPage() {
  useTitle('Placement advisor');
  const { client } = useSession();
  const advice = useAsync(() => client.advisor(), []);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();

  async function apply(tenantId: string) {
    setBusy(tenantId);
    setError(undefined);
    try {
      await client.applyAdvice([tenantId]);
      navigate(`/console/tenants/${encodeURIComponent(tenantId)}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  }

  const changes = advice.data?.filter((a) => a.action !== 'keep') ?? [];
  return (
    <section>
      <h1>Placement advisor</h1>
      <p className="muted">
        Recommendations from each tenant's usage and cost: noisy tenants get their own lanes, tenants that
        need isolation go dedicated, quiet ones return to shared. Monthly costs at AWS list prices.
      </p>
      <ProblemBanner error={advice.error ?? error} onRetry={advice.reload} />
      {advice.loading && !advice.data ? <Loading label="Loading recommendations…" /> : null}
      {advice.data?.length === 0 ? <Empty title="No tenants yet." /> : null}
      {advice.data && advice.data.length > 0 ? (
        <>
          <p>
            {changes.length === 0
              ? 'Every tenant is where it should be.'
              : `${changes.length} tenant${changes.length === 1 ? '' : 's'} would be better placed elsewhere.`}
          </p>
          <TableFrame label="Placement recommendations">
            <table>
              <caption className="sr-only">Placement recommendations per tenant</caption>
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Now</th>
                  <th scope="col">Recommended</th>
                  <th scope="col">Why</th>
                  <th scope="col" className="num">
                    Shared / month
                  </th>
                  <th scope="col" className="num">
                    Dedicated / month
                  </th>
                  <th scope="col">
                    <span className="sr-only">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {advice.data.map((a) => (
                  <tr key={a.tenantId} data-testid={`advice-${a.tenantId}`}>
                    <th scope="row">
                      <a href={`/console/tenants/${encodeURIComponent(a.tenantId)}`}>{a.tenantId}</a>
                    </th>
                    <td>{a.current}</td>
                    <td>{a.action === 'keep' ? 'keep' : a.recommended}</td>
                    <td className="cell-text">{a.reasons.join('; ')}</td>
                    <td className="num">{formatUsd(a.monthlyCostUsd.shared)}</td>
                    <td className="num">{formatUsd(a.monthlyCostUsd.dedicated)}</td>
                    <td>
                      {a.action === 'keep' ? null : (
                        <button type="button" disabled={busy !== undefined} onClick={() => apply(a.tenantId)}>
                          {busy === a.tenantId ? 'Starting…' : ACTION_LABEL[a.action]}
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableFrame>
        </>
      ) : null}
    </section>
  );
}
