import type { JobProgress, JobRecord } from '../core/job.ts';
import { isBuiltin } from '../models/model-selection.ts';
import type { ModelDefinition, ProgressCallback } from '../models/types.ts';
import type { TenantJobStore } from '../ports/job-store.ts';

export type { ProgressCallback };

/** At most one progress write per job this often: a 10-second run writes about 40 times, not per path. */
export const PROGRESS_INTERVAL_MS = 250;

export interface ProgressReporter {
  /** The callback handed to the model. Cheap: most calls only compare a clock. */
  report: ProgressCallback;
  /** No write after this: the job's next status change is about to be committed. */
  stop(): void;
}

/**
 * Carries a running model's progress to its job record and to whoever listens (SSE), throttled to one
 * report per `intervalMs` (plus the last step, `done === total`). Writes go through
 * `TenantJobStore.recordProgress`, which never changes the record's version, so they cannot make the
 * runner's own compare-and-set fail. Listeners hear of it at once, not when the write settles: a model
 * that runs synchronously (one simulation in this thread) keeps the event loop until it ends, while the
 * embedded store writes synchronously and the notification is posted to the host's thread right away.
 * A failed write is only passed to `onError`: progress is a hint, the job's outcome does not depend on it.
 */
export function progressReporter(options: {
  jobs: Pick<TenantJobStore, 'recordProgress'>;
  job: JobRecord;
  unit: string;
  notify?: ((job: JobRecord) => void) | undefined;
  onError?: (error: unknown) => void;
  intervalMs?: number;
  now?: () => number;
}): ProgressReporter {
  const { jobs, job, unit } = options;
  const interval = options.intervalMs ?? PROGRESS_INTERVAL_MS;
  const now = options.now ?? Date.now;
  let last = Number.NEGATIVE_INFINITY;
  let stopped = false;
  return {
    report(done, total) {
      if (stopped) return;
      const t = now();
      if (t - last < interval && done < total) return;
      last = t;
      // `at`: the attempt's last evidence of running, should its end never be seen (core/attempt-time.ts).
      const progress: JobProgress = { done, total, unit, at: new Date(t).toISOString() };
      jobs.recordProgress(job.id, job.version, progress).catch((error: unknown) => options.onError?.(error));
      options.notify?.({ ...job, progress });
    },
    stop() {
      stopped = true;
    },
  };
}

/** Runs parts of a model (the compute pool's `runParts`); `signal` aborted drops and ends them. */
export type RunParts = (
  model: string,
  input: unknown,
  parts: unknown[],
  signal?: AbortSignal,
) => Promise<unknown[]>;

/**
 * The parts of a parallel run, each sent on its own so the run reports as each part ends (`ofPart` units
 * done) instead of once at the end; the pool runs them as it would the whole plan. Results stay in plan order.
 * One part failing stops the others, as the pool does within one run: here each part is a run of its own,
 * and they would run on beside the failed job's retry.
 */
export async function runPartsReporting(
  model: ModelDefinition,
  input: unknown,
  plan: unknown[],
  runParts: RunParts,
  onProgress: ProgressCallback,
): Promise<unknown[]> {
  const total = model.progress?.total(input) ?? 0;
  const failed = new AbortController();
  let done = 0;
  return Promise.all(
    plan.map(async (part) => {
      try {
        const [result] = await runParts(model.name, input, [part], failed.signal);
        done += model.progress?.ofPart(part) ?? 0;
        if (!failed.signal.aborted) onProgress(Math.min(done, total), total);
        return result;
      } catch (error) {
        failed.abort(error);
        throw error;
      }
    }),
  );
}

/**
 * Runs `model` on `job`'s input: in parts on the compute pool (`parallel`) when the model plans two or
 * more and is built in (a release's own code runs whole, here), else whole on this thread. Resolves with
 * the model's result; throws what the model throws.
 */
export async function runModel(
  parallel: { cores: number; runParts: RunParts } | undefined,
  model: ModelDefinition,
  job: JobRecord,
  onProgress?: ProgressCallback,
): Promise<unknown> {
  const plan =
    parallel && model.parallel && isBuiltin(model)
      ? model.parallel.plan(job.effectiveInput, parallel.cores)
      : [];
  if (!parallel || !model.parallel || plan.length < 2)
    return model.run(job.effectiveInput, job.rules, onProgress);
  const parts = onProgress
    ? await runPartsReporting(model, job.effectiveInput, plan, parallel.runParts, onProgress)
    : await parallel.runParts(model.name, job.effectiveInput, plan);
  return model.parallel.combine(job.effectiveInput, job.rules, parts);
}
