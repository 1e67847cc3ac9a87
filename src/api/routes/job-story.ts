import type { FastifyInstance } from 'fastify';
import { forTenant } from '../../core/failure.ts';
import type { JobRecord } from '../../core/job.ts';
import { timelineOf } from '../../core/job-story.ts';
import { tenantContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';
import { findJob } from './jobs.ts';

/** Who a view is for: a tenant never sees a failure's raw cause (`internal`), operators do. */
export type ViewAudience = 'tenant' | 'operator';

/** A job's timeline as the API shows it: its steps with times and durations, and the trace it belongs to. */
export function timelineView(job: JobRecord, audience: ViewAudience) {
  const steps = timelineOf(job);
  return {
    jobId: job.id,
    tenantId: job.tenantId,
    status: job.status,
    attempts: job.attempts,
    ...(job.story?.traceId ? { traceId: job.story.traceId } : {}),
    steps: audience === 'operator' ? steps : steps.map(forTenant),
  };
}

/** A job's structured log, oldest first. */
export function logsView(job: JobRecord, audience: ViewAudience) {
  const logs = job.story?.logs ?? [];
  return { jobId: job.id, items: audience === 'operator' ? logs : logs.map(forTenant) };
}

/** The caller's own jobs' stories: another tenant's job is the same 404 as a missing one. */
export function jobStoryRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/timeline',
    {
      config: { audience: 'tenant' },
      schema: {
        tags: ['jobs'],
        summary:
          "A job's timeline: submitted, admitted, queued, claimed, running, rendering, stored, notified",
      },
    },
    async (request) => {
      const { data } = await tenantContext(deps, request);
      return timelineView(await findJob(data.jobs, request.params.id), 'tenant');
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/logs',
    { config: { audience: 'tenant' }, schema: { tags: ['jobs'], summary: "A job's structured log" } },
    async (request) => {
      const { data } = await tenantContext(deps, request);
      return logsView(await findJob(data.jobs, request.params.id), 'tenant');
    },
  );
}
