import type { FastifyInstance, FastifyRequest } from 'fastify';
import { cancelJob, redriveJob, retryJob } from '../../control/job-actions.ts';
import { listJobsAcrossTenants } from '../../control/operator-jobs.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { parseTenantId, type TenantId } from '../../core/ids.ts';
import type { JobStatus } from '../../core/job.ts';
import { jobView } from '../../core/job-view.ts';
import { modelNames } from '../../models/registry.ts';
import { tenantDataFor } from '../../ports/placement-data.ts';
import { requireOperator } from '../context.ts';
import type { AppDeps } from '../deps.ts';
import { logsView, timelineView } from './job-story.ts';
import { findJob } from './jobs.ts';

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

interface ListQuery {
  tenant?: string;
  model?: string;
  status?: JobStatus;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

type JobParams = { Params: { tenantId: string; id: string } };

/**
 * Jobs across tenants for operators (like Bull Board, by tenant): the list with filters, one job's whole
 * story (record, timeline, log, spans kept locally) and the actions retry, cancel and redrive.
 */
export function adminJobRoutes(app: FastifyInstance, deps: AppDeps): void {
  const actionDeps = { directory: deps.directory, stores: deps.stores, queue: deps.queue };

  app.get<{ Querystring: ListQuery }>(
    '/v1/admin/jobs',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Jobs of every tenant, newest first, with filters',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant: { type: 'string', maxLength: 63 },
            model: { type: 'string', enum: modelNames() },
            status: { type: 'string', enum: STATUSES },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
            cursor: { type: 'string', maxLength: 2048 },
          },
        },
      },
    },
    async (request) => {
      await requireOperator(deps, request);
      const q = request.query;
      if (q.from && q.to && Date.parse(q.from) > Date.parse(q.to)) {
        throw new ValidationError([{ path: '/querystring/from', message: 'must not be after `to`' }]);
      }
      return listJobsAcrossTenants(deps, {
        limit: q.limit ?? 50,
        ...(q.tenant ? { tenantId: await knownTenant(deps, q.tenant) } : {}),
        ...(q.model ? { model: q.model } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.from ? { from: q.from } : {}),
        ...(q.to ? { to: q.to } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
    },
  );

  app.get<JobParams>(
    '/v1/admin/tenants/:tenantId/jobs/:id',
    {
      config: { audience: 'operator' },
      schema: { tags: ['admin'], summary: "Any tenant's job with its timeline, log and spans" },
    },
    async (request) => {
      await requireOperator(deps, request);
      const tenantId = parseTenantId(request.params.tenantId, '/params/tenantId');
      const tenant = await deps.directory.get(tenantId);
      if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
      const job = await findJob(tenantDataFor(deps.stores, tenant).jobs, request.params.id);
      return {
        job: jobView(job, 'operator'),
        tenant: { id: tenant.id, name: tenant.name, placement: tenant.placement },
        timeline: timelineView(job, 'operator'),
        logs: logsView(job, 'operator').items,
        spans: (await deps.jobSpans?.(tenant.id, job.id)) ?? [],
      };
    },
  );

  const action = (name: 'retry' | 'cancel' | 'redrive', summary: string, run: typeof retryJob) =>
    app.post<JobParams>(
      `/v1/admin/tenants/:tenantId/jobs/:id/${name}`,
      { config: { audience: 'operator' }, schema: { tags: ['admin'], summary } },
      async (request: FastifyRequest<JobParams>) => {
        const principal = await requireOperator(deps, request);
        const tenantId = parseTenantId(request.params.tenantId, '/params/tenantId');
        const job = await run(actionDeps, { tenantId, jobId: request.params.id, by: principal.subject });
        deps.events.publish(job);
        return jobView(job, 'operator');
      },
    );
  action('retry', 'Run a failed job again, as a new attempt (409 unless failed)', retryJob);
  action('cancel', 'Cancel a queued job (409 once a function has claimed it)', cancelJob);
  action('redrive', 'Send a dead-lettered job back to its lane (409 unless dead-lettered)', redriveJob);
}

/** A tenant filter names a tenant of the platform: one that is not was an empty 200, read as "no jobs". */
async function knownTenant(deps: AppDeps, value: string): Promise<TenantId> {
  const id = parseTenantId(value, '/querystring/tenant');
  if (!(await deps.directory.get(id))) {
    throw new ValidationError([
      { path: '/querystring/tenant', message: `is no tenant of this platform: "${id}"`, rule: 'tenant' },
    ]);
  }
  return id;
}
