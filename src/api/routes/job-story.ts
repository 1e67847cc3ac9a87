import type { FastifyInstance } from 'fastify';
import type { JobRecord } from '../../core/job.ts';
import { timelineOf } from '../../core/job-story.ts';
import { jobForTenant, type ViewAudience } from '../../core/tenant-view.ts';
import { tenantContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';
import { findJob } from './jobs.ts';

/** A job's timeline as the API shows it: its steps with times and durations, and the trace it belongs to. */
export function timelineView(record: JobRecord, audience: ViewAudience) {
  const job = audience === 'operator' ? record : jobForTenant(record);
  return {
    jobId: job.id,
    tenantId: job.tenantId,
    status: job.status,
    attempts: job.attempts,
    ...(job.story?.traceId ? { traceId: job.story.traceId } : {}),
    steps: timelineOf(job),
  };
}

/** A job's structured log, oldest first. */
export function logsView(record: JobRecord, audience: ViewAudience) {
  const job = audience === 'operator' ? record : jobForTenant(record);
  return { jobId: job.id, items: job.story?.logs ?? [] };
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
