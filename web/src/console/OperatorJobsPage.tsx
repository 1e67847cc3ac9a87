import { useState } from 'react';
import type { JobStatus, OperatorJob } from '../../../src/client/index.ts';
import { useAsync, useSession } from '../api.tsx';
import { formatTime } from '../portal/format.ts';
import { Link, useTitle } from '../router.tsx';
import { type Column, DataTable } from '../ui/DataTable.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { LoadMore, ModelFilter, StatusFilter, usePagedList, useUrlFilters } from '../ui/paged-list.tsx';
import { Empty, Loading, StatusBadge } from '../ui/States.tsx';
import { actionsFor, type JobActionName } from './job-actions.ts';

const FILTERS = ['tenant', 'model', 'status', 'from', 'to'] as const;
const PAGE = 50;

/** `datetime-local` value (local time, no zone) as ISO 8601; empty stays empty. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * Jobs of every tenant, newest first, filtered by tenant, model, status and time (kept in the URL), with
 * the actions each job allows and a link to its story.
 */
export function OperatorJobsPage() {
  useTitle('Jobs');
  const { client } = useSession();
  const { filter, key, setFilter } = useUrlFilters(FILTERS);
  const list = usePagedList(key, (cursor?: string) =>
    client.listAllJobs({
      limit: PAGE,
      ...(filter.tenant ? { tenant: filter.tenant } : {}),
      ...(filter.model ? { model: filter.model } : {}),
      ...(filter.status ? { status: filter.status as JobStatus } : {}),
      ...(isoOf(filter.from) ? { from: isoOf(filter.from) } : {}),
      ...(isoOf(filter.to) ? { to: isoOf(filter.to) } : {}),
      ...(cursor ? { cursor } : {}),
    }),
  );
  const { first, items } = list;
  const models = useAsync(() => client.listModels(), []);
  const tenants = useAsync(() => client.listTenants({ limit: 500 }), []);
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState<string>();

  const act = async (job: OperatorJob, action: JobActionName) => {
    setError(undefined);
    setMessage(undefined);
    try {
      const after = await client.jobAction(job.tenantId, job.id, action);
      setMessage(`Job ${job.id} of ${job.tenantId}: ${action} done; it is ${after.status} now.`);
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  const columns: Column<OperatorJob>[] = [
    {
      header: 'Job',
      cell: (job) => (
        <Link
          href={`/console/tenants/${encodeURIComponent(job.tenantId)}/jobs/${encodeURIComponent(job.id)}`}
          aria-label={`Story of job ${job.id}`}
        >
          <code>{job.id.slice(0, 12)}</code>
        </Link>
      ),
    },
    {
      header: 'Tenant',
      cell: (job) => (
        <Link href={`/console/tenants/${encodeURIComponent(job.tenantId)}`}>{job.tenantName}</Link>
      ),
    },
    { header: 'Model', cell: (job) => job.model },
    {
      header: 'Status',
      cell: (job) => (
        <>
          <StatusBadge status={job.status} />
          {job.error ? <span className="muted"> {job.error.code}</span> : null}
        </>
      ),
    },
    { header: 'Attempts', num: true, cell: (job) => job.attempts },
    { header: 'Submitted', cell: (job) => formatTime(job.createdAt) },
    {
      header: 'Actions',
      hiddenHeader: true,
      className: 'actions',
      cell: (job) =>
        actionsFor(job).map((a) => (
          <button
            key={a.action}
            type="button"
            className="button-secondary"
            aria-label={`${a.label} job ${job.id}`}
            onClick={() => act(job, a.action)}
          >
            {a.label}
          </button>
        )),
    },
  ];

  return (
    <section>
      <h1>Jobs</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter jobs">
        <label>
          Tenant
          <select value={filter.tenant} onChange={(e) => setFilter('tenant', e.target.value)}>
            <option value="">All tenants</option>
            {filter.tenant && !tenants.data?.items.some((t) => t.id === filter.tenant) ? (
              <option value={filter.tenant}>{filter.tenant}</option>
            ) : null}
            {tenants.data?.items.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({t.id})
              </option>
            ))}
          </select>
        </label>
        <ModelFilter value={filter.model} models={models.data} onChange={(v) => setFilter('model', v)} />
        <StatusFilter value={filter.status} onChange={(v) => setFilter('status', v)} />
        <label>
          Submitted from
          <input
            type="datetime-local"
            value={filter.from}
            onChange={(e) => setFilter('from', e.target.value)}
          />
        </label>
        <label>
          Submitted to
          <input type="datetime-local" value={filter.to} onChange={(e) => setFilter('to', e.target.value)} />
        </label>
        <button type="button" className="button-secondary" onClick={first.reload}>
          Refresh
        </button>
      </form>
      {message ? (
        <p className="banner banner-success" role="status">
          {message}
        </p>
      ) : null}
      <ProblemBanner error={first.error ?? error ?? list.moreError} onRetry={first.reload} />
      {first.loading && !first.data ? <Loading label="Loading jobs…" /> : null}
      {first.data && items.length === 0 ? <Empty title="No jobs match these filters." /> : null}
      {items.length > 0 ? (
        <DataTable
          label="All jobs"
          className="operator-jobs"
          columns={columns}
          rows={items}
          rowKey={(job) => `${job.tenantId}/${job.id}`}
        />
      ) : null}
      <LoadMore list={list} />
    </section>
  );
}
