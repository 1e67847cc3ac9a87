import { type BackoffPolicy, backoffMs } from '../core/backoff.ts';
import { networkProblem, problemFrom } from './problem.ts';
import { parseEventStream } from './sse.ts';
import type { Job, JobStatus } from './types.ts';

/** How long a dropped event stream waits before it reconnects: 250 ms doubling to 5 s. */
const RECONNECT: BackoffPolicy = { baseMs: 250, maxMs: 5000 };

const TERMINAL: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.includes(status);
}

/**
 * Yields the job on every status change until it is terminal. Reconnects when the stream
 * drops early (proxies cut idle connections) and re-reads the job so no change is missed. A stream
 * the server ends on purpose (`reconnect`: its maximum life, a restart, or `access_ended` when the
 * credential no longer grants the tenant, whose re-read then throws the 401/403) is reopened at once; when
 * the tenant has all its streams open (`429`) the job is re-read after `Retry-After` instead.
 * `openStream` opens `GET /v1/jobs/{id}/events`; `getJob` reads the job.
 */
export async function* watchJobEvents(
  openStream: (signal?: AbortSignal) => Promise<Response>,
  getJob: () => Promise<Job>,
  signal?: AbortSignal,
): AsyncGenerator<Job> {
  for (let attempt = 0; !signal?.aborted; attempt++) {
    const res = await openStream(signal);
    let waitMs = backoffMs(attempt, RECONNECT);
    if (res.status === 429) {
      await res.body?.cancel();
      waitMs = Math.min(60, Number(res.headers.get('retry-after')) || 5) * 1000;
    } else {
      if (!res.ok) throw await problemFrom(res);
      if (!res.body) throw networkProblem(new Error('the event stream has no body'));
      let last: Job | undefined;
      for await (const message of parseEventStream(res.body)) {
        if (message.event === 'reconnect') {
          attempt = -1;
          waitMs = 0;
        }
        // A running job's progress (`{ done, total, unit }`), between its status events.
        if (message.event === 'progress' && last?.status === 'running') {
          last = { ...last, progress: JSON.parse(message.data) as Job['progress'] };
          yield last;
          continue;
        }
        if (message.event !== 'status') continue;
        const job = JSON.parse(message.data) as Job;
        last = job;
        yield job;
        if (isTerminal(job.status)) return;
      }
    }
    const job = await getJob();
    yield job;
    if (isTerminal(job.status)) return;
    await sleep(waitMs, signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
