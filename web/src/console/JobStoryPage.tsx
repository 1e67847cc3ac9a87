import { useState } from 'react';
import type { TraceSpan } from '../../../src/client/index.ts';
import { useAsync, useSession } from '../api.tsx';
import { formatTime } from '../portal/format.ts';
import { Link, useTitle } from '../router.tsx';
import { DataTable } from '../ui/DataTable.tsx';
import { formatDuration, JobTimeline } from '../ui/JobTimeline.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading, StatusBadge } from '../ui/States.tsx';
import { actionsFor, type JobActionName } from './job-actions.ts';

/**
 * The table's rows: each span, then the steps timed as events within it (a job store write), which carry
 * their duration as `silopool.duration_ms`.
 */
function spanRows(spans: TraceSpan[]) {
  return spans.flatMap((span) => [
    { ...span, key: span.spanId, event: false },
    ...(span.events ?? []).flatMap((event, i) => {
      const ms = event.attributes?.['silopool.duration_ms'];
      if (typeof ms !== 'number') return [];
      const status = event.attributes?.['silopool.status'];
      return [
        {
          ...span,
          key: `${span.spanId}:${i}`,
          event: true,
          name: typeof status === 'string' ? `${event.name} (${status})` : event.name,
          startMs: event.atMs,
          durationMs: ms,
          status: event.attributes?.['error.type'] === undefined ? 0 : 2,
        },
      ];
    }),
  ]);
}

/**
 * Any tenant's job for operators: what it is, its timeline and log, the spans kept of its trace (which
 * process and thread ran each step), and the actions it allows now.
 */
export function JobStoryPage({ tenantId, jobId }: { tenantId: string; jobId: string }) {
  useTitle(`Job ${jobId}`);
  const { client } = useSession();
  const story = useAsync(() => client.jobStory(tenantId, jobId), [tenantId, jobId]);
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState<string>();

  const act = async (action: JobActionName) => {
    setError(undefined);
    setMessage(undefined);
    try {
      const after = await client.jobAction(tenantId, jobId, action);
      setMessage(`${action} done; the job is ${after.status} now.`);
      story.reload();
    } catch (e) {
      setError(e);
    }
  };

  if (!story.data) {
    return story.error ? <ProblemBanner error={story.error} onRetry={story.reload} /> : <Loading />;
  }
  const { job, tenant, timeline, logs, spans } = story.data;
  const origin = spans[0]?.startMs ?? 0;
  return (
    <section>
      <p>
        <Link href="/console/jobs">← All jobs</Link>
      </p>
      <h1>
        {job.model} job <code className="job-id">{job.id}</code>
      </h1>
      <dl className="facts">
        <dt>Tenant</dt>
        <dd>
          <Link href={`/console/tenants/${encodeURIComponent(tenant.id)}`}>{tenant.name}</Link> (
          {tenant.placement})
        </dd>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={job.status} />
        </dd>
        <dt>Attempts</dt>
        <dd>{job.attempts}</dd>
        <dt>Submitted</dt>
        <dd>{formatTime(job.createdAt)}</dd>
        {timeline.traceId ? (
          <>
            <dt>Trace id</dt>
            <dd>
              <code>{timeline.traceId}</code>
            </dd>
          </>
        ) : null}
      </dl>
      {job.error ? (
        <div className="banner banner-error" role="alert">
          <p className="banner-title">The job failed ({job.error.code})</p>
          <p>{job.error.message}</p>
        </div>
      ) : null}
      {message ? (
        <p className="banner banner-success" role="status">
          {message}
        </p>
      ) : null}
      <ProblemBanner error={error} />
      <div className="actions">
        {actionsFor(job).map((a) => (
          <button key={a.action} type="button" onClick={() => act(a.action)}>
            {a.label} job
          </button>
        ))}
        <button type="button" className="button-secondary" onClick={story.reload}>
          Refresh
        </button>
      </div>
      <JobTimeline steps={timeline.steps} logs={logs} />
      <section aria-labelledby="spans-heading">
        <h2 id="spans-heading">Trace spans</h2>
        {spans.length === 0 ? (
          <p className="muted">No spans kept on this server for this job (exported over OTLP, or expired).</p>
        ) : (
          <DataTable
            label="Spans of the job's trace"
            columns={[
              {
                header: 'Span',
                cell: (s) => (s.event ? <code>↳ {s.name}</code> : <code>{s.name}</code>),
              },
              {
                header: 'Where',
                cell: (s) => (
                  <>
                    {s.service} · pid {s.pid}
                    {s.threadId > 0 ? ` · thread ${s.threadId}` : ''}
                  </>
                ),
              },
              { header: 'Start', num: true, cell: (s) => `+${formatDuration(s.startMs - origin) || '0 ms'}` },
              { header: 'Duration', num: true, cell: (s) => formatDuration(s.durationMs) },
            ]}
            rows={spanRows(spans)}
            rowKey={(s) => s.key}
            rowClassName={(s) => (s.status === 2 ? 'warn' : undefined)}
          />
        )}
      </section>
    </section>
  );
}
