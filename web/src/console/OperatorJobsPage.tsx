import { useState } from 'react';
import type { JobStatus, OperatorJob } from '../../../src/client/index.ts';
import { useAsync, useSession } from '../api.tsx';
import { formatTime } from '../portal/format.ts';
import { Link, navigate, useLocation, useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading, StatusBadge } from '../ui/States.tsx';
import { actionsFor, type JobActionName } from './job-actions.ts';

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
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
  const { path, query } = useLocation();
  const filter = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  const key = FILTERS.map((f) => filter[f]).join('|');
  const request = (cursor?: string) =>
    client.listAllJobs({
      limit: PAGE,
      ...(filter.tenant ? { tenant: filter.tenant } : {}),
      ...(filter.model ? { model: filter.model } : {}),
      ...(filter.status ? { status: filter.status as JobStatus } : {}),
      ...(isoOf(filter.from) ? { from: isoOf(filter.from) } : {}),
      ...(isoOf(filter.to) ? { to: isoOf(filter.to) } : {}),
      ...(cursor ? { cursor } : {}),
    });
  const first = useAsync(() => request(), [key]);
  const models = useAsync(() => client.listModels(), []);
  const tenants = useAsync(() => client.listTenants({ limit: 500 }), []);
  const [more, setMore] = useState<{ key: string; items: OperatorJob[]; cursor?: string | undefined }>();
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState<string>();

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    const search = next.toString();
    navigate(search ? `${path}?${search}` : path, { replace: true });
  };
  const extra = more?.key === key ? more : undefined;
  const items = [...(first.data?.items ?? []), ...(extra?.items ?? [])];
  const cursor = extra ? extra.cursor : first.data?.nextCursor;
  const loadMore = async () => {
    try {
      const page = await request(cursor);
      setMore({ key, items: [...(extra?.items ?? []), ...page.items], cursor: page.nextCursor });
    } catch (e) {
      setError(e);
    }
  };
  const act = async (job: OperatorJob, action: JobActionName) => {
    setError(undefined);
    setMessage(undefined);
    try {
      const after = await client.jobAction(job.tenantId, job.id, action);
      setMessage(`Job ${job.id} of ${job.tenantId}: ${action} done; it is ${after.status} now.`);
      setMore(undefined);
      first.reload();
    } catch (e) {
      setError(e);
    }
  };

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
        <label>
          Model
          <select value={filter.model} onChange={(e) => setFilter('model', e.target.value)}>
            <option value="">Any model</option>
            {models.data?.map((m) => (
              <option key={m.name} value={m.name}>
                {m.title}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={filter.status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
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
      <ProblemBanner error={first.error ?? error} onRetry={first.reload} />
      {first.loading && !first.data ? <Loading label="Loading jobs…" /> : null}
      {first.data && items.length === 0 ? <Empty title="No jobs match these filters." /> : null}
      {items.length > 0 ? (
        <div className="table-wrap">
          <table className="operator-jobs">
            <caption className="sr-only">Jobs of every tenant</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Tenant</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Submitted</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((job) => (
                <tr key={`${job.tenantId}/${job.id}`}>
                  <td>
                    <Link
                      href={`/console/tenants/${encodeURIComponent(job.tenantId)}/jobs/${encodeURIComponent(job.id)}`}
                      aria-label={`Story of job ${job.id}`}
                    >
                      <code>{job.id.slice(0, 12)}</code>
                    </Link>
                  </td>
                  <td>
                    <Link href={`/console/tenants/${encodeURIComponent(job.tenantId)}`}>
                      {job.tenantName}
                    </Link>
                  </td>
                  <td>{job.model}</td>
                  <td>
                    <StatusBadge status={job.status} />
                    {job.error ? <span className="muted"> {job.error.code}</span> : null}
                  </td>
                  <td className="num">{job.attempts}</td>
                  <td>{formatTime(job.createdAt)}</td>
                  <td className="actions">
                    {actionsFor(job).map((a) => (
                      <button
                        key={a.action}
                        type="button"
                        className="button-secondary"
                        aria-label={`${a.label} job ${job.id}`}
                        onClick={() => act(job, a.action)}
                      >
                        {a.label}
                      </button>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {cursor ? (
        <button type="button" className="button-secondary" onClick={loadMore}>
          Load more
        </button>
      ) : null}
    </section>
  );
}
