import { useState } from 'react';
import type { Job, JobStatus } from '../../../src/client/index.ts';
import { useAsync, useTenantClient } from '../api.tsx';
import { Link, navigate, useLocation, useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading, StatusBadge } from '../ui/States.tsx';
import { TableFrame } from '../ui/TableFrame.tsx';
import { formatTime } from './format.ts';

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const PAGE = 25;

/** Past jobs, filtered by status and model; the filters live in the URL so a filtered list can be shared. */
export function JobsPage({ tenantId }: { tenantId: string }) {
  useTitle('Jobs');
  const client = useTenantClient(tenantId);
  const { path, query } = useLocation();
  const status = (query.get('status') ?? '') as JobStatus | '';
  const model = query.get('model') ?? '';
  const models = useAsync(() => client.listModels(), [tenantId]);
  const [more, setMore] = useState<{ key: string; items: Job[]; cursor?: string | undefined }>();
  const key = `${tenantId}|${status}|${model}`;
  const first = useAsync(
    () => client.listJobs({ status: status || undefined, model: model || undefined, limit: PAGE }),
    [key],
  );
  const [moreError, setMoreError] = useState<unknown>();

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
      const page = await client.listJobs({
        status: status || undefined,
        model: model || undefined,
        limit: PAGE,
        cursor,
      });
      setMore({ key, items: [...(extra?.items ?? []), ...page.items], cursor: page.nextCursor });
    } catch (e) {
      setMoreError(e);
    }
  };
  const base = `/t/${encodeURIComponent(tenantId)}`;

  return (
    <section>
      <h1>Jobs</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter jobs">
        <label>
          Status
          <select value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <select value={model} onChange={(e) => setFilter('model', e.target.value)}>
            <option value="">Any model</option>
            {models.data?.map((m) => (
              <option key={m.name} value={m.name}>
                {m.title}
              </option>
            ))}
          </select>
        </label>
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
        <TableFrame label="Jobs">
          <table>
            <caption className="sr-only">Jobs</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col">Submitted</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((job) => (
                <tr key={job.id}>
                  <td>
                    <Link href={`${base}/jobs/${encodeURIComponent(job.id)}`}>
                      <code>{job.id.slice(0, 12)}</code>
                    </Link>
                  </td>
                  <td>{job.model}</td>
                  <td>
                    <StatusBadge status={job.status} />
                  </td>
                  <td>{formatTime(job.createdAt)}</td>
                  <td>
                    <Link
                      href={`${base}/models/${encodeURIComponent(job.model)}?rerun=${encodeURIComponent(job.id)}`}
                      aria-label={`Re-run job ${job.id} with edits`}
                    >
                      Re-run
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableFrame>
      ) : null}
      <ProblemBanner error={moreError} />
      {cursor ? (
        <button type="button" className="button-secondary" onClick={loadMore}>
          Load more
        </button>
      ) : null}
    </section>
  );
}
