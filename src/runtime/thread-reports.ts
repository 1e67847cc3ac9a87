import type { JobRecord } from '../core/job.ts';
import type { FunctionReport } from './function-runtime.ts';
import type { JobNotice } from './job-events.ts';

/**
 * What the host's listeners get of a job's status change: the record without its timeline and log
 * (`story.events`, `story.logs`), which no listener reads (SSE streams send `jobView`, metrics read the
 * status and times) and which grow with every step; the trace ids stay (`notify.sse` joins the job's
 * trace). Every notice is copied between threads, so what it leaves out is never cloned at all.
 */
export function jobNotice(job: JobRecord): JobNotice {
  const { story, ...rest } = job;
  if (!story) return rest;
  return {
    ...rest,
    story: {
      ...(story.traceId !== undefined ? { traceId: story.traceId } : {}),
      ...(story.traceparent !== undefined ? { traceparent: story.traceparent } : {}),
    },
  };
}

export interface ReportBatcher {
  /**
   * Queues a report. `now`: post it (and whatever waits) before returning, for a report the host needs
   * before this thread may block: a model run is synchronous and holds every report queued behind it.
   */
  add(report: FunctionReport, now?: boolean): void;
}

/**
 * A function thread's reports to its host, one `postMessage` per batch. Each message costs a structured
 * clone here, a task on the host's event loop there and a wake-up of its port: a job's claim, running
 * status, final status and end used to be four. Reports queued in one turn of this thread's event loop go
 * together at its end (`setImmediate`); a report that must not wait (the `running` status, progress, a
 * compute request) goes at once and takes the queued ones with it. `batched: false` posts every report
 * on its own, for a thread that runs several jobs at once: there one job's synchronous run would hold
 * another's reports until it ended.
 */
export function createReportBatcher(
  post: (reports: FunctionReport[]) => void,
  options: { batched: boolean },
): ReportBatcher {
  let queued: FunctionReport[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (queued.length === 0) return;
    const batch = queued;
    queued = [];
    post(batch);
  };
  return {
    add(report, now = false) {
      queued.push(report);
      if (now || !options.batched) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}
