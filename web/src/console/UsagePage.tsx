import { lazy, Suspense, useEffect, useState } from 'react';
import type { TenantUsage } from '../../../src/client/index.ts';
import { useAsync, useInterval, useSession } from '../api.tsx';
import { formatBytes, formatUsd, formatValue } from '../portal/format.ts';
import { useTitle } from '../router.tsx';
import { type Column, DataTable } from '../ui/DataTable.tsx';
import { SelectField } from '../ui/Field.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading } from '../ui/States.tsx';

const UsageChart = lazy(() => import('./UsageChart.tsx'));

export interface UsageSample {
  at: number;
  items: TenantUsage[];
}

const USAGE_COLUMNS: Column<TenantUsage>[] = [
  { header: 'Tenant', cell: (u) => u.tenantId },
  { header: 'Jobs', num: true, cell: (u) => formatValue(u.jobs) },
  { header: 'Succeeded', num: true, cell: (u) => formatValue(u.succeeded) },
  { header: 'Failed', num: true, cell: (u) => formatValue(u.failed) },
  { header: 'Compute (s)', num: true, cell: (u) => formatValue(u.computeSeconds) },
  { header: 'Storage', num: true, cell: (u) => formatBytes(u.storageBytes) },
  { header: 'Cost', num: true, cell: (u) => formatUsd(u.costUsd) },
];

const SAMPLES_KEY = 'silopool.usage.samples';
const MAX_SAMPLES = 360;

// The usage API reports running totals; sampling it gives per-tenant series over time without a
// metrics store. Samples persist in sessionStorage so a reload keeps the history of this session.
function loadSamples(): UsageSample[] {
  try {
    return JSON.parse(sessionStorage.getItem(SAMPLES_KEY) ?? '[]') as UsageSample[];
  } catch {
    return [];
  }
}

export function UsagePage() {
  useTitle('Usage');
  const { client } = useSession();
  const usage = useAsync(() => client.usage(), []);
  useInterval(usage.reload, 10_000);
  const [samples, setSamples] = useState<UsageSample[]>(loadSamples);
  const [tenant, setTenant] = useState('');

  useEffect(() => {
    if (!usage.data) return;
    const items = usage.data.items;
    setSamples((prev) => {
      const next = [...prev, { at: Date.now(), items }].slice(-MAX_SAMPLES);
      sessionStorage.setItem(SAMPLES_KEY, JSON.stringify(next));
      return next;
    });
  }, [usage.data]);

  const rows = usage.data?.items;
  const tenants = rows?.map((u) => u.tenantId) ?? [];
  const selected = tenant || tenants[0] || '';
  return (
    <section>
      <h1>Usage and cost</h1>
      <ProblemBanner error={usage.error} onRetry={usage.reload} />
      {usage.loading && !usage.data ? <Loading label="Loading usage…" /> : null}
      {usage.data ? (
        <p className="help">
          Jobs created from {usage.data.from.slice(0, 16).replace('T', ' ')} to{' '}
          {usage.data.to.slice(0, 16).replace('T', ' ')} UTC (this month so far), and what they cost in that
          time.
        </p>
      ) : null}
      {rows?.length === 0 ? <Empty title="No usage recorded yet." /> : null}
      {rows && rows.length > 0 ? (
        <>
          <DataTable
            label="Usage per tenant"
            columns={USAGE_COLUMNS}
            rows={rows}
            rowKey={(u) => u.tenantId}
          />
          <h2>Metrics over time</h2>
          <p className="help">Sampled every 10 seconds while this page is open.</p>
          <SelectField label="Tenant" value={selected} options={tenants} onChange={setTenant} />
          <Suspense fallback={<Loading label="Loading chart…" />}>
            <UsageChart samples={samples} tenantId={selected} />
          </Suspense>
        </>
      ) : null}
    </section>
  );
}
