import { isTerminal } from '../core/job.ts';
import { storyWith } from '../core/job-story.ts';
import { decodeJobMessage, encodeJobMessage } from '../core/messages.ts';
import { requeuedBilling } from '../core/usage.ts';
import { nextVersion } from '../ports/job-store.ts';
import { deadLetterQueueName, type MessageQueue, type ReceivedMessage } from '../ports/message-queue.ts';
import { DEAD_LETTERED, jobStoreOf, RETRIES_EXHAUSTED } from './dead-letter-settler.ts';
import type { ControlDeps } from './tenants.ts';

export interface DeadLetter {
  messageId: string;
  body: string;
  groupId?: string;
  receiveCount: number;
  sentAt: string;
  /** As sent; a redrive sends it again with the same. */
  priority?: number;
  cost?: number;
}

/** Looks at a queue's dead letters without consuming them (they become visible again at once). */
export async function peekDeadLetters(queue: MessageQueue, source: string, max = 50): Promise<DeadLetter[]> {
  const dlq = deadLetterQueueName(source);
  const seen: ReceivedMessage[] = [];
  while (seen.length < max) {
    const batch = await queue.receive(dlq, {
      maxMessages: Math.min(10, max - seen.length),
      visibilityTimeoutSec: 5,
    });
    if (batch.length === 0) break;
    seen.push(...batch);
  }
  await Promise.all(seen.map((m) => queue.changeVisibility(dlq, m.receiptHandle, 0)));
  return seen.map((m) => ({
    messageId: m.messageId,
    body: m.body,
    ...(m.groupId ? { groupId: m.groupId } : {}),
    receiveCount: m.receiveCount,
    sentAt: new Date(m.sentAt).toISOString(),
    ...(m.priority !== undefined ? { priority: m.priority } : {}),
    ...(m.cost !== undefined ? { cost: m.cost } : {}),
  }));
}

/**
 * Moves dead letters back to their queue, each as it was sent (group, priority, fair-scheduling cost,
 * attributes), so a big job is still charged as big. A job settled as failed because its message was
 * dead-lettered, or because its retries ran out, goes back to `queued`: it runs once more and ends in
 * exactly one terminal state.
 *
 * Only an active tenant's jobs run again, as with the one-job redrive and retry (job-actions.ts): a
 * suspended tenant's work stays stopped, and an offboarding one's would put messages and results back while
 * its data is exported and erased. Their dead letters stay where they are (visible again once the pass
 * ends, for inspection or a later redrive), counted as `skipped` (absent when none).
 */
export async function redriveDeadLetters(
  deps: ControlDeps,
  source: string,
): Promise<{ moved: number; skipped?: number }> {
  const dlq = deadLetterQueueName(source);
  let moved = 0;
  const kept: ReceivedMessage[] = [];
  try {
    for (;;) {
      const batch = await deps.queue.receive(dlq, { maxMessages: 10, visibilityTimeoutSec: 30 });
      if (batch.length === 0) break;
      for (const message of batch) {
        if (!(await mayRunAgain(deps, message.body))) {
          // Held (invisible) until the pass ends, or this loop would receive it again and again.
          kept.push(message);
          continue;
        }
        const body = await requeueJob(deps, source, message.body);
        await deps.queue.send(source, {
          body,
          ...(message.groupId ? { groupId: message.groupId } : {}),
          ...(message.priority !== undefined ? { priority: message.priority } : {}),
          ...(message.cost !== undefined ? { cost: message.cost } : {}),
          ...(Object.keys(message.attributes).length > 0 ? { attributes: message.attributes } : {}),
        });
        await deps.queue.delete(dlq, message.receiptHandle);
        moved++;
      }
    }
  } finally {
    await Promise.all(
      kept.map((m) => deps.queue.changeVisibility(dlq, m.receiptHandle, 0).catch(() => undefined)),
    );
  }
  return { moved, ...(kept.length > 0 ? { skipped: kept.length } : {}) };
}

/**
 * Whether a dead letter's job may run again: its tenant is active. A body that names no job, or a tenant
 * that is gone, is moved as before (the function drops what it cannot run).
 */
async function mayRunAgain(deps: ControlDeps, body: string): Promise<boolean> {
  const message = decodeJobMessage(body);
  if (!message) return true;
  const tenant = await deps.directory.get(message.tenantId);
  return !tenant || tenant.status === 'active';
}

/**
 * A job settled as dead-lettered (or failed on its last delivery) goes back to `queued`. A job not settled
 * yet is written too (a new version): the dead-letter settler then sees it changed after the move and
 * leaves it to the redriven message. Returns the body to send: a requeued job's carries the `billedBefore`
 * written on it, the control plane's copy a dedicated process's host bills against (core/messages.ts).
 */
async function requeueJob(deps: ControlDeps, source: string, body: string): Promise<string> {
  const message = decodeJobMessage(body);
  if (!message) return body;
  const tenant = await deps.directory.get(message.tenantId);
  if (!tenant) return body;
  const jobs = await jobStoreOf(deps, tenant, message.jobId, source);
  const job = await jobs.get(message.jobId);
  if (!job) return body;
  if (!isTerminal(job.status)) {
    await jobs.update(nextVersion(job, {}), job.version);
    return body;
  }
  const code = job.error?.code;
  if (job.status !== 'failed' || (code !== DEAD_LETTERED && code !== RETRIES_EXHAUSTED)) return body;
  const { error: _error, finishedAt: _finished, ...rest } = job;
  const redriven = storyWith(job, [{ step: 'redriven', at: new Date().toISOString(), detail: source }]);
  // Its next finish bills only what runs from now: this finish was billed (core/usage.ts). The attempts
  // grow past the dead letter's own copy, not the record's alone (a dedicated process writes its record).
  const billing = requeuedBilling(job, message.billedBefore);
  await jobs.update(nextVersion(rest, { status: 'queued', ...redriven, ...billing }), job.version);
  const { v: _v, ...fields } = message;
  return encodeJobMessage({ ...fields, ...billing });
}
