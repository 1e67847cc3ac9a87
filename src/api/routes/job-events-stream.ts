import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal, type JobRecord } from '../../core/job.ts';
import { jobView } from '../../core/job-view.ts';
import { incarnationOf, type Tenant } from '../../core/tenant.ts';
import type { TenantJobStore } from '../../ports/job-store.ts';
import type { JobNotice } from '../../runtime/job-events.ts';
import type { EventStreams } from '../event-streams.ts';

const HEARTBEAT_MS = 15_000;

/**
 * Streams a job's status changes as SSE until its terminal status. Changes are pushed from this
 * process's job events (and the shared poll where one runs); a stream lives at most
 * `streams.maxLifeMs` and then ends with a `reconnect` event, so no connection is held forever.
 * Throws RateLimitedError (before anything is written) when the tenant has no stream slot left. Slots are
 * counted per incarnation of the tenant id (`incarnationOf`): streams an offboarded tenant still holds (its
 * queued jobs cancelled by the offboarding, which no stream hears of, until their life ends) are not the
 * slots of the next customer under the same id.
 * `granted` is asked before each event and each heartbeat (the credential checked as a new request's would
 * be): once it answers false (a key revoked, the tenant suspended or offboarded) the stream ends with a
 * `reconnect` event of reason `access_ended` and delivers nothing more; when the check itself fails (a storage
 * fault), of reason `check_failed`.
 */
export async function streamJobEvents(
  streams: EventStreams,
  request: FastifyRequest,
  reply: FastifyReply,
  jobs: TenantJobStore,
  initial: JobRecord,
  tenant: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>,
  granted: () => Promise<boolean>,
): Promise<void> {
  const res = reply.raw;
  let closed = false;
  const cleanups: (() => void)[] = [];
  const finish = (farewell?: string) => {
    if (closed) return;
    closed = true;
    for (const cleanup of cleanups) cleanup();
    if (farewell) res.write(farewell);
    res.end();
  };
  // Tenant ids hold no space: an id and its incarnation read back as one key.
  const release = streams.open(`${tenant.id} ${incarnationOf(tenant)}`, () =>
    finish('event: reconnect\ndata: {"reason":"server_closing"}\n\n'),
  );
  cleanups.push(release);

  reply.hijack();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let lastVersion = 0;
  let lastStatus: string | undefined;
  let lastDone = -1;
  /** Whether `send` would write anything of `job`: an older version, or a repeat of the last, writes nothing. */
  const isNews = (job: JobNotice) =>
    !closed &&
    (job.version > lastVersion ||
      (job.version === lastVersion &&
        job.status === 'running' &&
        job.progress !== undefined &&
        job.progress.done > lastDone));
  const send = (job: JobNotice) => {
    if (closed || job.version < lastVersion) return;
    // Progress reports keep the version: the same version again may carry further progress.
    if (job.version > lastVersion) {
      lastVersion = job.version;
      if (job.status !== lastStatus) {
        lastStatus = job.status;
        res.write(`id: ${job.version}\nevent: status\ndata: ${JSON.stringify(jobView(job))}\n\n`);
      }
      if (isTerminal(job.status)) return finish();
    }
    if (job.status === 'running' && job.progress && job.progress.done > lastDone) {
      lastDone = job.progress.done;
      res.write(`event: progress\ndata: ${JSON.stringify(job.progress)}\n\n`);
    }
  };

  // Each change is delivered only while the credential still grants the tenant (a stream outlives the
  // check of the request that opened it by up to `maxLifeMs`). Checks finishing out of order are harmless:
  // `send` drops an older version. An answer that comes after the stream ended writes nothing.
  const ACCESS_ENDED = 'event: reconnect\ndata: {"reason":"access_ended"}\n\n';
  // The check itself failed (the tenant could not be read): access is not known to have ended, but nothing
  // is delivered unchecked either; the client reconnects and its new request is checked in full.
  const CHECK_FAILED = 'event: reconnect\ndata: {"reason":"check_failed"}\n\n';
  const whileGranted = (then: () => void) => {
    if (closed) return;
    granted()
      .then(
        (ok) => {
          if (closed) return;
          if (ok) then();
          else finish(ACCESS_ENDED);
        },
        (error: unknown) => {
          request.log.warn({ err: error }, 'SSE credential check failed');
          finish(CHECK_FAILED);
        },
      )
      .catch((error: unknown) => {
        // Writing failed (a socket gone under it): the stream ends; never an unhandled rejection.
        request.log.warn({ err: error }, 'SSE write failed');
        finish();
      });
  };
  // Only what would be written is checked: the shared poll (the AWS backend's 5 s, the Lambda API's 1 s)
  // hands over every watched job on each tick, changed or not, and a check is an authentication (a tenant
  // read; on DynamoDB, a request).
  const deliver = (job: JobNotice) => {
    if (isNews(job)) whileGranted(() => send(job));
  };
  cleanups.push(streams.watch(initial.tenantId, initial.id, () => jobs.get(initial.id), deliver));
  request.raw.on('close', () => finish());
  // A client gone while the route read its credential and the job: its `close` came before the listener
  // above, and writes to its socket fail silently, so the stream would hold a slot and go on checking the
  // credential until its maximum life. Told by the response, not by the request, which Node also marks
  // destroyed once a body sent with it has been read.
  if (res.destroyed) return finish();
  send(initial);
  if (closed) return;

  const life = setTimeout(
    () => finish('event: reconnect\ndata: {"reason":"max_stream_life"}\n\n'),
    streams.maxLifeMs,
  );
  const heartbeat = setInterval(() => whileGranted(() => res.write(': keep-alive\n\n')), HEARTBEAT_MS);
  cleanups.push(
    () => clearTimeout(life),
    () => clearInterval(heartbeat),
  );
  // A change between the route's read and the subscription above would otherwise be heard by no one.
  jobs.get(initial.id).then(
    (job) => job && deliver(job),
    (error: unknown) => request.log.warn({ err: error }, 'SSE re-read failed'),
  );
}
