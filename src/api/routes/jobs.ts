import type { FastifyInstance } from 'fastify';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { isJobId } from '../../core/ids.ts';
import { artifactKey, isTerminal, type JobRecord, type JobStatus } from '../../core/job.ts';
import { storyWith } from '../../core/job-story.ts';
import { jobView } from '../../core/job-view.ts';
import { modelNames } from '../../models/registry.ts';
import { nextVersion, type TenantJobStore } from '../../ports/job-store.ts';
import { stillGrants, tenantContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';
import { createEventStreams } from '../event-streams.ts';
import { jobViewSchema } from '../job-schema.ts';
import { streamJobEvents } from './job-events-stream.ts';

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

interface ListQuery {
  status?: string;
  model?: string;
  limit?: number;
  cursor?: string;
}

export function jobRoutes(app: FastifyInstance, deps: AppDeps): void {
  const streams = createEventStreams(deps.events, deps.eventStreams);
  // Open streams end (with `reconnect`) before the server waits for its connections to close.
  app.addHook('preClose', (done) => {
    streams.close();
    done();
  });
  app.get<{ Querystring: ListQuery }>(
    '/v1/jobs',
    {
      config: { audience: 'tenant' },
      schema: {
        tags: ['jobs'],
        summary: "This tenant's jobs, newest first",
        // Closed, and the model one of the platform's: `?model=fnance` or `?from=…` (a filter this list does
        // not have) was an empty or unfiltered 200 a user took for an answer.
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: STATUSES },
            model: { type: 'string', enum: modelNames() },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
            cursor: { type: 'string', maxLength: 2048 },
          },
        },
      },
    },
    async (request) => {
      const { data } = await tenantContext(deps, request);
      const q = request.query;
      const page = await data.jobs.list({
        limit: q.limit ?? 20,
        ...(q.status ? { status: q.status as JobStatus } : {}),
        ...(q.model ? { model: q.model } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return {
        items: page.items.map((job) => jobView(job)),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    {
      config: { audience: 'tenant' },
      schema: { tags: ['jobs'], summary: 'One job', response: { 200: jobViewSchema } },
    },
    async (request) => {
      const { data } = await tenantContext(deps, request);
      return jobView(await findJob(data.jobs, request.params.id));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { config: { audience: 'tenant' }, schema: { tags: ['jobs'], summary: 'Cancel a queued job' } },
    async (request) => {
      const { data } = await tenantContext(deps, request);
      const job = await findJob(data.jobs, request.params.id);
      if (job.status !== 'queued') {
        throw new ConflictError(
          `Only a queued job can be cancelled; this one is ${job.status}.`,
          'not_cancellable',
        );
      }
      const now = new Date().toISOString();
      // Compare-and-set: if a function started the job meanwhile, the cancel loses and says so.
      const cancelled = await data.jobs
        .update(
          nextVersion(job, {
            status: 'cancelled',
            finishedAt: now,
            ...storyWith(job, [{ step: 'cancelled', at: now, detail: 'by the tenant' }]),
          }),
          job.version,
        )
        .catch((error: unknown) => {
          throw new ConflictError(
            'The job started running before it could be cancelled.',
            'not_cancellable',
            {
              cause: error,
            },
          );
        });
      deps.events.publish(cancelled);
      return jobView(cancelled);
    },
  );

  app.get<{ Params: { id: string; name: string } }>(
    '/v1/jobs/:id/artifacts/:name',
    {
      config: { audience: 'tenant' },
      schema: { tags: ['jobs'], summary: "Download a job's artifact (the workbook)" },
    },
    async (request, reply) => {
      const { data } = await tenantContext(deps, request);
      const job = await findJob(data.jobs, request.params.id);
      const artifact = job.artifacts.find((a) => a.name === request.params.name);
      if (!artifact) throw new NotFoundError(`Artifact "${request.params.name}"`);
      const object = await data.objects.get(artifactKey(job.id, artifact.name));
      if (!object) throw new NotFoundError(`Artifact "${request.params.name}"`);
      // Headers come from what the store checked at put (its content type: printable ASCII) and from ids it
      // accepted as key segments (`artifactKey` refuses any other name), never from free text of a record
      // whatever release wrote it; an ETag only where the record holds a sha256 in hex.
      const fileName = `${job.model}-${job.id}-${artifact.name}`;
      if (/^[0-9a-f]{64}$/.test(artifact.sha256)) reply.header('etag', `"${artifact.sha256}"`);
      return reply
        .header('content-type', object.contentType)
        .header('content-length', String(object.size))
        .header('content-disposition', `attachment; filename="${fileName}"`)
        .send(Buffer.from(object.body.buffer, object.body.byteOffset, object.body.byteLength));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/events',
    {
      config: { audience: 'tenant' },
      schema: {
        tags: ['jobs'],
        summary: 'Server-Sent Events with status changes; ends after a terminal status',
      },
    },
    async (request, reply) => {
      const { tenant, data } = await tenantContext(deps, request);
      const job = await findJob(data.jobs, request.params.id);
      if (isTerminal(job.status) && request.headers.accept === 'application/json') return jobView(job);
      await streamJobEvents(streams, request, reply, data.jobs, job, tenant, () =>
        stillGrants(deps, request, tenant),
      );
      return reply;
    },
  );
}

/** A job of this tenant; anything else (malformed id, another tenant's job) is the same 404. */
export async function findJob(jobs: TenantJobStore, id: string): Promise<JobRecord> {
  if (!isJobId(id)) throw new NotFoundError('Job');
  const job = await jobs.get(id);
  if (!job) throw new NotFoundError('Job');
  return job;
}
