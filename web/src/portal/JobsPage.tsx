import type { Job, JobStatus } from '../../../src/client/index.ts';
import { useAsync, useTenantClient } from '../api.tsx';
import { Link, useTitle } from '../router.tsx';
import { type Column, DataTable } from '../ui/DataTable.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { LoadMore, ModelFilter, StatusFilter, usePagedList, useUrlFilters } from '../ui/paged-list.tsx';
import { Empty, Loading, StatusBadge } from '../ui/States.tsx';
import { formatTime } from './format.ts';

const FILTERS = ['status', 'model'] as const;
const PAGE = 25;

/** Past jobs, filtered by status and model; the filters live in the URL so a filtered list can be shared. */
export function JobsPage({ tenantId }: { tenantId: string }) {
  useTitle('Jobs');
  const client = useTenantClient(tenantId);
  const { filter, key, setFilter } = useUrlFilters(FILTERS);
  const { status, model } = filter;
  const models = useAsync(() => client.listModels(), [tenantId]);
  const list = usePagedList(`${tenantId}|${key}`, (cursor?: string) =>
    client.listJobs({
      status: (status as JobStatus) || undefined,
      model: model || undefined,
      limit: PAGE,
      cursor,
    }),
  );
  const { first, items } = list;
  const base = `/t/${encodeURIComponent(tenantId)}`;
  const columns: Column<Job>[] = [
    {
      header: 'Job',
      cell: (job) => (
        <Link href={`${base}/jobs/${encodeURIComponent(job.id)}`}>
          <code>{job.id.slice(0, 12)}</code>
        </Link>
      ),
    },
    { header: 'Model', cell: (job) => job.model },
    { header: 'Status', cell: (job) => <StatusBadge status={job.status} /> },
    { header: 'Submitted', cell: (job) => formatTime(job.createdAt) },
    {
      header: 'Actions',
      hiddenHeader: true,
      cell: (job) => (
        <Link
          href={`${base}/models/${encodeURIComponent(job.model)}?rerun=${encodeURIComponent(job.id)}`}
          aria-label={`Re-run job ${job.id} with edits`}
        >
          Re-run
        </Link>
      ),
    },
  ];

  return (
    <section>
      <h1>Jobs</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter jobs">
        <StatusFilter value={status} onChange={(v) => setFilter('status', v)} />
        <ModelFilter value={model} models={models.data} onChange={(v) => setFilter('model', v)} />
        <button type="button" className="button-secondary" onClick={first.reload}>
          Refresh
        </button>
      </form>
      <ProblemBanner error={first.error} onRetry={first.reload} />
      {first.loading && !first.data ? <Loading label="Loading jobs…" /> : null}
      {first.data && items.length === 0 ? (
        <Empty title={status || model ? 'No jobs match these filters.' : 'No jobs yet.'}>
          <Link href={`${base}/models`}>Run a model</Link>
        </Empty>
      ) : null}
      {items.length > 0 ? (
        <DataTable label="Jobs" columns={columns} rows={items} rowKey={(job) => job.id} />
      ) : null}
      <ProblemBanner error={list.moreError} />
      <LoadMore list={list} />
    </section>
  );
}
