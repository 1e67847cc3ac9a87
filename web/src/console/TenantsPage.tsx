import { useAsync, useSession } from '../api.tsx';
import { formatUsd, formatValue } from '../portal/format.ts';
import { Link, useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading, StatusBadge } from '../ui/States.tsx';
import { TableFrame } from '../ui/TableFrame.tsx';

/** Every tenant with its placement, status and usage at a glance. */
export function TenantsPage() {
  useTitle('Tenants');
  const { client } = useSession();
  const data = useAsync(async () => {
    const [tenants, usage] = await Promise.all([listAllTenants(client), client.usage().catch(() => [])]);
    return { tenants, usage: new Map(usage.map((u) => [u.tenantId, u])) };
  }, []);
  return (
    <section>
      <div className="page-head">
        <h1>Tenants</h1>
        <Link className="button" href="/console/tenants/new">
          New tenant
        </Link>
      </div>
      <ProblemBanner error={data.error} onRetry={data.reload} />
      {data.loading && !data.data ? <Loading label="Loading tenants…" /> : null}
      {data.data?.tenants.length === 0 ? (
        <Empty title="No tenants yet.">
          <Link href="/console/tenants/new">Create the first tenant</Link>
        </Empty>
      ) : null}
      {data.data && data.data.tenants.length > 0 ? (
        <TableFrame label="Tenants">
          <table>
            <caption className="sr-only">Tenants</caption>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Status</th>
                <th scope="col">Placement</th>
                <th scope="col">Plan</th>
                <th scope="col" className="num">
                  Jobs
                </th>
                <th scope="col" className="num">
                  Failed
                </th>
                <th scope="col" className="num">
                  Cost
                </th>
              </tr>
            </thead>
            <tbody>
              {data.data.tenants.map((t) => {
                const u = data.data?.usage.get(t.id);
                return (
                  <tr key={t.id}>
                    <td>
                      <Link href={`/console/tenants/${encodeURIComponent(t.id)}`}>{t.name}</Link>
                      <div className="muted">{t.id}</div>
                    </td>
                    <td>
                      <StatusBadge status={t.status} />
                    </td>
                    <td>
                      {t.placement}
                      {t.move ? <span className="muted"> → {t.move.to} (moving)</span> : null}
                    </td>
                    <td>{t.plan}</td>
                    <td className="num">{formatValue(u?.jobs ?? 0)}</td>
                    <td className="num">{formatValue(u?.failed ?? 0)}</td>
                    <td className="num">{u ? formatUsd(u.costUsd) : '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableFrame>
      ) : null}
    </section>
  );
}

/** Follows the cursor; the console lists hundreds of tenants, not millions. */
async function listAllTenants(client: ReturnType<typeof useSession>['client']) {
  const all = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const res = await client.listTenants({ limit: 100, ...(cursor ? { cursor } : {}) });
    all.push(...res.items);
    cursor = res.nextCursor;
    if (!cursor) break;
  }
  return all;
}
