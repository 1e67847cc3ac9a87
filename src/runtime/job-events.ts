import { EventEmitter } from 'node:events';
import type { JobRecord } from '../core/job.ts';
import type { JobStory } from '../core/job-story.ts';
import { jobTraceContext, recordSpan } from '../observability/spans.ts';

/**
 * A job as its status change is relayed: the record, whose story may be only its trace ids (a function
 * thread leaves the timeline and log out, see `jobNotice` in thread-reports.ts). A full record is one.
 */
export type JobNotice = Omit<JobRecord, 'story'> & {
  story?: Pick<JobStory, 'traceId' | 'traceparent'> | undefined;
};

/** In-process fan-out of job status changes to SSE streams and webhook dispatch. */
export interface JobEvents {
  publish(job: JobNotice): void;
  /** Calls `listener` with every later change of that tenant's job; returns the unsubscribe function. */
  subscribe(tenantId: string, jobId: string, listener: (job: JobNotice) => void): () => void;
  onAny(listener: (job: JobNotice) => void): () => void;
}

export function createJobEvents(): JobEvents {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  // The channel carries the tenant, so a subscriber of one tenant never hears another's job of the same id.
  const channel = (tenantId: string, jobId: string) => `${tenantId}#${jobId}`;
  return {
    publish(job) {
      const name = channel(job.tenantId, job.id);
      const streams = emitter.listenerCount(name);
      // Only where someone listens: a status relayed to open event streams (SSE) is a notification.
      if (streams > 0) {
        recordSpan('notify.sse', jobTraceContext(job), {
          'silopool.status': job.status,
          'silopool.streams': streams,
        });
      }
      emitter.emit(name, job);
      emitter.emit('*', job);
    },
    subscribe(tenantId, jobId, listener) {
      const name = channel(tenantId, jobId);
      emitter.on(name, listener);
      return () => emitter.off(name, listener);
    },
    onAny(listener) {
      emitter.on('*', listener);
      return () => emitter.off('*', listener);
    },
  };
}
