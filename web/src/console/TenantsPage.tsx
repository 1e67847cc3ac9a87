import type { Tenant, TenantUsage } from '../../../src/client/index.ts';
import { useAsync, useSession } from '../api.tsx';
import { formatUsd, formatValue } from '../portal/format.ts';
import { Link, useTitle } from '../router.tsx';
import { type Column, DataTable } from '../ui/DataTable.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading, StatusBadge } from '../ui/States.tsx';

const tenantColumns = (usage: Map<string, TenantUsage>): Column<Tenant>[] => [
  {
    header: 'Tenant',
    cell: (t) => (
      <>
        <Link href={`/console/tenants/${encodeURIComponent(t.id)}`}>{t.name}</Link>
        <div className="muted">{t.id}</div>
      </>
    ),
  },
  { header: 'Status', cell: (t) => <StatusBadge status={t.status} /> },
  {
    header: 'Placement',
    cell: (t) => (
      <>
        {t.placement}
        {t.move ? <span className="muted"> → {t.move.to} (moving)</span> : null}
      </>
    ),
  },
  { header: 'Plan', cell: (t) => t.plan },
  { header: 'Jobs (month so far)', num: true, cell: (t) => formatValue(usage.get(t.id)?.jobs ?? 0) },
  { header: 'Failed', num: true, cell: (t) => formatValue(usage.get(t.id)?.failed ?? 0) },
  {
    // GET /v1/admin/usage's default period: jobs created this UTC month so far, and their cost.
    header: 'Cost (month so far)',
    num: true,
    cell: (t) => {
      const u = usage.get(t.id);
      return u ? formatUsd(u.costUsd) : '—';
    },
  },
];

/** Every tenant with its placement, status and usage at a glance. */
export function TenantsPage() {
  useTitle('Tenants');
  const { client } = useSession();
  const data = useAsync(async () => {
    const [tenants, usage] = await Promise.all([
      listAllTenants(client),
      client.usage().catch(() => undefined),
    ]);
    return { tenants, usage: new Map((usage?.items ?? []).map((u) => [u.tenantId, u])) };
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
        <DataTable
          label="Tenants"
          columns={tenantColumns(data.data.usage)}
          rows={data.data.tenants}
          rowKey={(t) => t.id}
        />
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
