import { decodeJobMessage } from '../core/messages.ts';
import { storeFor } from '../core/placement.ts';
import { nextVersion } from '../ports/job-store.ts';
import { deadLetterQueueName, type MessageQueue, type ReceivedMessage } from '../ports/message-queue.ts';
import { tenantDataAt } from '../ports/stores.ts';
import type { ControlDeps } from './tenants.ts';

export interface DeadLetter {
  messageId: string;
  body: string;
  groupId?: string;
  receiveCount: number;
  sentAt: string;
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
  }));
}

/**
 * Moves dead letters back to their queue. A job that was marked failed when its retries ran out goes
 * back to `queued`, so it runs once more and ends in exactly one terminal state.
 */
export async function redriveDeadLetters(deps: ControlDeps, source: string): Promise<{ moved: number }> {
  const dlq = deadLetterQueueName(source);
  let moved = 0;
  for (;;) {
    const batch = await deps.queue.receive(dlq, { maxMessages: 10, visibilityTimeoutSec: 30 });
    if (batch.length === 0) break;
    for (const message of batch) {
      await requeueJob(deps, message.body);
      await deps.queue.send(source, {
        body: message.body,
        ...(message.groupId ? { groupId: message.groupId } : {}),
      });
      await deps.queue.delete(dlq, message.receiptHandle);
      moved++;
    }
  }
  return { moved };
}

async function requeueJob(deps: ControlDeps, body: string): Promise<void> {
  const message = decodeJobMessage(body);
  if (!message) return;
  const tenant = await deps.directory.get(message.tenantId);
  if (!tenant) return;
  const jobs = tenantDataAt(deps.stores, storeFor(tenant), tenant.id).jobs;
  const job = await jobs.get(message.jobId);
  if (job?.status !== 'failed' || job.error?.code !== 'retries_exhausted') return;
  const { error: _error, finishedAt: _finished, ...rest } = job;
  await jobs.update(nextVersion(rest, { status: 'queued' }), job.version);
}
