import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQueue, WEBHOOK_QUEUE } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { type JobId, parseTenantId, type TenantId } from '../../src/core/ids.ts';
import { encodeJobMessage } from '../../src/core/messages.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { createModelHandler } from '../../src/functions/model-handler.ts';
import type { MessageQueue } from '../../src/ports/message-queue.ts';
import { laneDataFor } from '../../src/ports/placement-data.ts';
import type { StoreProvider } from '../../src/ports/stores.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';
import { newTenantId } from '../support/server.ts';

// The crash window between a job's final commit and its webhook enqueue, on the real SQLite store and
// queue: the enqueue fails (as a crash there would leave it) and the model message is delivered again.
// The redelivery must announce the terminal job it has no record of announcing, once.
let dir: string;
let platform: EmbeddedPlatform;
const MODEL_QUEUE = sharedQueueName('finance');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-outbox-'));
  platform = openEmbeddedPlatform(dir);
  await ensureQueue(platform.queue, MODEL_QUEUE);
  await ensureQueue(platform.queue, WEBHOOK_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 12 });
});
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The real queue, with webhook sends counted and, while `fault` says so, failing: `before` the send
 * (nothing enqueued) or `after` it (enqueued, then the process "dies" before marking the job).
 */
function faultyQueue(queue: MessageQueue) {
  const state = { sends: 0, fault: undefined as 'before' | 'after' | undefined };
  const wrapped: MessageQueue = {
    ...queue,
    async send(name, message) {
      if (name !== WEBHOOK_QUEUE) return queue.send(name, message);
      state.sends += 1;
      if (state.fault === 'before') throw new Error('crash before the webhook enqueue');
      const sent = await queue.send(name, message);
      if (state.fault === 'after') throw new Error('crash after the webhook enqueue');
      return sent;
    },
  };
  return { queue: wrapped, state };
}

async function hookedJob() {
  const id = parseTenantId(newTenantId('outbox'));
  const { tenant } = await createTenant(platform, {
    id,
    name: 'Outbox',
    config: {
      webhook: {
        url: 'https://hooks.example.com/silopool',
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      },
    },
  });
  const data = tenantDataAt(platform.stores, { kind: 'shared' }, id);
  const { job } = await submitJob(platform.intake, { tenant, data, model: 'finance', input: {} });
  return { id, data, jobId: job.id };
}

/** Receives the job's model message (again): a redelivery, as after a crash and a visibility timeout. */
async function deliver(handler: ReturnType<typeof createModelHandler>) {
  const messages = await platform.queue.receive(MODEL_QUEUE, {
    maxMessages: 10,
    visibilityTimeoutSec: 30,
    waitTimeSec: 1,
  });
  expect(messages).toHaveLength(1);
  const result = await handler(toSqsEvent(MODEL_QUEUE, messages));
  const failed = result.batchItemFailures.length > 0;
  if (failed) await platform.queue.changeVisibility(MODEL_QUEUE, messages[0]!.receiptHandle, 0);
  else await platform.queue.delete(MODEL_QUEUE, messages[0]!.receiptHandle);
  return failed;
}

async function webhookMessagesFor(jobId: JobId): Promise<string[]> {
  const got = await platform.queue.receive(WEBHOOK_QUEUE, { maxMessages: 10, visibilityTimeoutSec: 1 });
  for (const m of got) await platform.queue.changeVisibility(WEBHOOK_QUEUE, m.receiptHandle, 0);
  return got.map((m) => m.body).filter((body) => body.includes(jobId));
}

describe('the notification outbox', () => {
  it('announces a terminal job on redelivery when the enqueue after its final commit failed', async () => {
    const { id, data, jobId } = await hookedJob();
    const faulty = faultyQueue(platform.queue);
    const handler = createModelHandler({
      directory: platform.directory,
      dataFor: laneDataFor(platform.stores),
      queue: faulty.queue,
    });

    faulty.state.fault = 'before';
    expect(await deliver(handler)).toBe(true);
    const committed = await data.jobs.get(jobId);
    expect(committed?.status).toBe('succeeded');
    expect(committed?.announcedAt).toBeUndefined();
    expect(await webhookMessagesFor(jobId)).toEqual([]);

    faulty.state.fault = undefined;
    expect(await deliver(handler)).toBe(false);
    const announced = await data.jobs.get(jobId);
    expect(announced?.announcedAt).toBeDefined();
    // Announced, not run again: one attempt, the same result.
    expect(announced?.attempts).toBe(1);
    expect(announced?.artifacts).toEqual(committed?.artifacts);
    const bodies = await webhookMessagesFor(jobId);
    expect(bodies.map((b) => JSON.parse(b).status)).toEqual(['succeeded']);

    // A later redelivery finds the mark and sends nothing more.
    const sends = faulty.state.sends;
    await redeliver(handler, id, jobId);
    expect(faulty.state.sends).toBe(sends);
    expect(await webhookMessagesFor(jobId)).toHaveLength(1);
  });

  it('enqueues one webhook message when the crash came after the enqueue and before the mark', async () => {
    const { data, jobId } = await hookedJob();
    const faulty = faultyQueue(platform.queue);
    const handler = createModelHandler({
      directory: platform.directory,
      dataFor: laneDataFor(platform.stores),
      queue: faulty.queue,
    });

    faulty.state.fault = 'after';
    expect(await deliver(handler)).toBe(true);
    expect((await data.jobs.get(jobId))?.announcedAt).toBeUndefined();
    faulty.state.fault = undefined;
    expect(await deliver(handler)).toBe(false);
    // Sent twice with one dedup id (the job and its status): the queue holds it once.
    expect(faulty.state.sends).toBe(2);
    expect(await webhookMessagesFor(jobId)).toHaveLength(1);
    expect((await data.jobs.get(jobId))?.announcedAt).toBeDefined();
  });

  it('announces a job that failed on its last delivery (retries exhausted)', async () => {
    const { data, jobId } = await hookedJob();
    const faulty = faultyQueue(platform.queue);
    // The artifact write fails on every attempt: a platform error, retried, and this is the last receive.
    const stores: StoreProvider = {
      ...platform.stores,
      // Without the stores' one-commit outcome: the workbook goes through the failing put (as on AWS).
      outcomeWriter: undefined,
      objects: (ref) => ({
        ...platform.stores.objects(ref),
        put: async () => {
          throw new Error('disk gone');
        },
      }),
    };
    const handler = createModelHandler({
      directory: platform.directory,
      dataFor: laneDataFor(stores),
      queue: faulty.queue,
      maxReceiveCount: 1,
    });
    expect(await deliver(handler)).toBe(true);
    const failed = await data.jobs.get(jobId);
    expect(failed?.error?.code).toBe('retries_exhausted');
    expect(failed?.announcedAt).toBeDefined();
    expect((await webhookMessagesFor(jobId)).map((b) => JSON.parse(b).status)).toEqual(['failed']);
    await drain(jobId);
  });
});

/** The job's model message once more (a late duplicate, after the first was deleted), then delivered. */
async function redeliver(handler: ReturnType<typeof createModelHandler>, tenantId: TenantId, jobId: JobId) {
  await platform.queue.send(MODEL_QUEUE, { body: encodeJobMessage({ tenantId, jobId, model: 'finance' }) });
  expect(await deliver(handler)).toBe(false);
}

/** Deletes the job's model message that a failing test left behind, so the next test receives only its own. */
async function drain(jobId: JobId) {
  const left = await platform.queue.receive(MODEL_QUEUE, { maxMessages: 10, visibilityTimeoutSec: 30 });
  for (const m of left) if (m.body.includes(jobId)) await platform.queue.delete(MODEL_QUEUE, m.receiptHandle);
}
