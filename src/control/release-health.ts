import type { TenantId } from '../core/ids.ts';
import { isTerminal } from '../core/job.ts';
import { laneForPlacement } from '../core/placement.ts';
import type { HealthSample } from '../core/release.ts';
import { listModels } from '../models/registry.ts';
import { deadLetterQueueName, type MessageQueue } from '../ports/message-queue.ts';
import { type StoreProvider, tenantDataAt } from '../ports/stores.ts';

/** How far back a tenant's jobs are read for one sample; a wave looks at minutes, its baseline at a day. */
const MAX_JOBS_READ = 2000;
/**
 * A job counts as failing once it needed this many deliveries: two failed. One retry is what a crash of
 * the host (or a process cut off at its drain deadline) causes, and says nothing about the code.
 */
const FAILING_ATTEMPTS = 3;

export interface HealthDeps {
  queue: MessageQueue;
  stores: StoreProvider;
}

/**
 * A dedicated tenant's health in `[from, to)` (ISO 8601): jobs of its own store that ended in the window,
 * the failed ones and those still retrying after two failed deliveries, and the messages in its
 * dead-letter queues now; with `release`, also how many of the jobs that ended ran on it (`onRelease`).
 * Reads at most the newest 2,000 jobs.
 */
export async function sampleHealth(
  deps: HealthDeps,
  tenantId: TenantId,
  from: string,
  to = '9999',
  release?: string,
): Promise<HealthSample> {
  const jobs = tenantDataAt(deps.stores, { kind: 'dedicated', tenantId }, tenantId).jobs;
  let finished = 0;
  let failures = 0;
  let onRelease = 0;
  let read = 0;
  let cursor: string | undefined;
  do {
    const page = await jobs.list({ limit: 200, ...(cursor ? { cursor } : {}) });
    for (const job of page.items) {
      if (isTerminal(job.status) && job.finishedAt && job.finishedAt >= from && job.finishedAt < to) {
        finished++;
        if (job.status === 'failed' || job.attempts >= FAILING_ATTEMPTS) failures++;
        // A job canceled before it ran names no release; one that ran on another (a pinned model's version
        // another release carries, in flight on the old process) is no evidence for this one.
        if (release !== undefined && job.release === release) onRelease++;
      } else if (
        !isTerminal(job.status) &&
        job.attempts >= FAILING_ATTEMPTS &&
        (job.startedAt ?? '') >= from
      ) {
        // Still retrying: a delivery failed, and the job has not ended yet.
        finished++;
        failures++;
      }
    }
    read += page.items.length;
    cursor = page.nextCursor;
  } while (cursor && read < MAX_JOBS_READ);
  let deadLetters = 0;
  for (const model of listModels()) {
    const dlq = deadLetterQueueName(laneForPlacement(tenantId, 'dedicated', model.name).queue);
    const depth = await deps.queue.depth(dlq).catch(() => ({ visible: 0, inFlight: 0, delayed: 0 }));
    deadLetters += depth.visible + depth.inFlight + depth.delayed;
  }
  return { finished, failures, deadLetters, ...(release !== undefined ? { onRelease } : {}) };
}
