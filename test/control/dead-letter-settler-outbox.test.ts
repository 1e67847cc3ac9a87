import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { settleDeadLetter, startDeadLetterSettler } from '../../src/control/dead-letter-settler.ts';
import { ensureQueue, WEBHOOK_QUEUE } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { type JobId, parseTenantId } from '../../src/core/ids.ts';
import { encodeJobMessage } from '../../src/core/messages.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { nextVersion } from '../../src/ports/job-store.ts';
import type { DeadLetterOutbox, MessageQueue } from '../../src/ports/message-queue.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { newTenantId } from '../support/server.ts';

// The crash windows of a dead-lettered job's announcement, on the real SQLite store and queue: the
// settler (or the handler's last delivery) committed `failed` and died before the webhook enqueue. The
// outbox record is settled again after the restart; it finds the job terminal and must still announce it,
// once.
let dir: string;
let platform: EmbeddedPlatform;
const MODEL_QUEUE = sharedQueueName('finance');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-settler-'));
  platform = openEmbeddedPlatform(dir);
  await ensureQueue(platform.queue, MODEL_QUEUE);
  await ensureQueue(platform.queue, WEBHOOK_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 12 });
});
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The real queue, with webhook sends counted and failing while `crash` is set (nothing enqueued). */
function crashingQueue(queue: MessageQueue) {
  const state = { sends: 0, crash: false };
  const wrapped: MessageQueue = {
    ...queue,
    async send(name, message) {
      if (name !== WEBHOOK_QUEUE) return queue.send(name, message);
      state.sends += 1;
      if (state.crash) throw new Error('crash before the webhook enqueue');
      return queue.send(name, message);
    },
  };
  return { queue: wrapped, state };
}

async function hookedJob() {
  const id = parseTenantId(newTenantId('settle'));
  const { tenant } = await createTenant(platform, {
    id,
    name: 'Settler',
    config: {
      webhook: {
        url: 'https://hooks.example.com/silopool',
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      },
    },
  });
  const data = tenantDataAt(platform.stores, { kind: 'shared' }, id);
  const { job } = await submitJob(platform.intake, { tenant, data, model: 'finance', input: {} });
  const letter = {
    source: MODEL_QUEUE,
    body: encodeJobMessage({ tenantId: id, jobId: job.id, model: 'finance' }),
    receiveCount: 4,
  };
  return { data, jobId: job.id, letter };
}

async function webhookStatusesFor(jobId: JobId): Promise<string[]> {
  const got = await platform.queue.receive(WEBHOOK_QUEUE, { maxMessages: 10, visibilityTimeoutSec: 1 });
  for (const m of got) await platform.queue.changeVisibility(WEBHOOK_QUEUE, m.receiptHandle, 0);
  return got.filter((m) => m.body.includes(jobId)).map((m) => JSON.parse(m.body).status);
}

describe('the dead-letter settler announces what a crash left unannounced', () => {
  it('announces on the next pass when the settler died between the failed commit and the enqueue', async () => {
    const { data, jobId, letter } = await hookedJob();
    const crashing = crashingQueue(platform.queue);
    const deps = { directory: platform.directory, stores: platform.stores, queue: crashing.queue };

    crashing.state.crash = true;
    await expect(settleDeadLetter(deps, letter)).rejects.toThrow('crash');
    expect(await data.jobs.get(jobId)).toMatchObject({ status: 'failed', error: { code: 'dead_lettered' } });
    expect((await data.jobs.get(jobId))?.announcedAt).toBeUndefined();
    expect(await webhookStatusesFor(jobId)).toEqual([]);

    crashing.state.crash = false;
    expect(await settleDeadLetter(deps, letter)).toBe('terminal');
    expect(await webhookStatusesFor(jobId)).toEqual(['failed']);
    expect((await data.jobs.get(jobId))?.announcedAt).toBeDefined();

    // Once marked, a further pass sends nothing.
    const sends = crashing.state.sends;
    expect(await settleDeadLetter(deps, letter)).toBe('terminal');
    expect(crashing.state.sends).toBe(sends);
  });

  it("announces a job its handler's last delivery failed but died before announcing", async () => {
    const { data, jobId, letter } = await hookedJob();
    const job = (await data.jobs.get(jobId))!;
    // What the handler's markExhausted committed before the crash: failed, never announced.
    await data.jobs.update(
      nextVersion(job, {
        status: 'failed',
        finishedAt: new Date().toISOString(),
        error: { code: 'retries_exhausted', message: 'The job failed on every attempt: disk gone' },
      }),
      job.version,
    );
    const deps = { directory: platform.directory, stores: platform.stores, queue: platform.queue };
    expect(await settleDeadLetter(deps, letter)).toBe('terminal');
    expect(await webhookStatusesFor(jobId)).toEqual(['failed']);
    expect(await data.jobs.get(jobId)).toMatchObject({ error: { code: 'retries_exhausted' } });
  });

  it('settles and announces a dead letter in one pass, marking it announced', async () => {
    const { data, jobId, letter } = await hookedJob();
    const deps = { directory: platform.directory, stores: platform.stores, queue: platform.queue };
    expect(await settleDeadLetter(deps, letter)).toBe('settled');
    expect(await webhookStatusesFor(jobId)).toEqual(['failed']);
    expect((await data.jobs.get(jobId))?.announcedAt).toBeDefined();
  });
});

describe('the dead-letter settler on its timer', () => {
  it('abandons a drain whose outbox never answers: the next drains run, and stop() does not wait for it', async () => {
    let reads = 0;
    // The first read of the outbox never answers (a store that stalls); the later ones do.
    const outbox: DeadLetterOutbox = {
      deadLettered(max) {
        reads++;
        return reads === 1 ? new Promise<never>(() => {}) : platform.queue.deadLettered(max);
      },
      settled: (ids) => platform.queue.settled(ids),
    };
    const errors: unknown[] = [];
    const settler = startDeadLetterSettler({
      directory: platform.directory,
      stores: platform.stores,
      queue: platform.queue,
      outbox,
      intervalMs: 50,
      passTimeoutMs: 300,
      onError: (error) => errors.push(error),
    });
    // On the old settler the hung drain held every later one (one read, ever), and stop() waited on it.
    await vi.waitFor(() => expect(reads).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'pass_deadline' }));
    await expect(settler.stop()).resolves.toBeUndefined();
  }, 15_000);
});
