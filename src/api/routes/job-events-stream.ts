import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal, type JobRecord } from '../../core/job.ts';
import { jobView } from '../../core/job-view.ts';
import type { TenantJobStore } from '../../ports/job-store.ts';
import type { AppDeps } from '../deps.ts';

/**
 * Streams a job's status changes as SSE. Changes arrive from the in-process event bus; a slow re-read
 * catches changes made by other processes (dedicated functions, another API instance).
 */
export async function streamJobEvents(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  jobs: TenantJobStore,
  initial: JobRecord,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let lastVersion = 0;
  let lastStatus: string | undefined;
  let closed = false;
  const cleanups: (() => void)[] = [];
  const finish = () => {
    if (closed) return;
    closed = true;
    for (const cleanup of cleanups) cleanup();
    res.end();
  };
  const send = (job: JobRecord) => {
    if (closed || job.version <= lastVersion) return;
    lastVersion = job.version;
    if (job.status !== lastStatus) {
      lastStatus = job.status;
      res.write(`id: ${job.version}\nevent: status\ndata: ${JSON.stringify(jobView(job))}\n\n`);
    }
    if (isTerminal(job.status)) finish();
  };

  cleanups.push(deps.events.subscribe(initial.tenantId, initial.id, send));
  request.raw.on('close', finish);
  send(initial);
  if (closed) return;

  const poll = setInterval(() => {
    jobs.get(initial.id).then(
      (job) => job && send(job),
      (error: unknown) => request.log.warn({ err: error }, 'SSE re-read failed'),
    );
  }, deps.ssePollMs ?? 1000);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  cleanups.push(
    () => clearInterval(poll),
    () => clearInterval(heartbeat),
  );
}
