import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQueue } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { UnavailableError } from '../../src/core/errors.ts';
import { type JobId, parseTenantId } from '../../src/core/ids.ts';
import { jobView } from '../../src/core/job-view.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { hashRequest } from '../../src/core/request-hash.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { createSequencedJobIntake } from '../../src/ports/job-intake-sequence.ts';
import type { MessageQueue } from '../../src/ports/message-queue.ts';
import { type TenantData, tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob } from '../contract/fixtures.ts';
import { newTenantId } from '../support/server.ts';

// On AWS a submit writes the job record, then sends its message, and answers 202 only after both. These are
// the two ways that sequence can break halfway; in neither may a job be left queued with no message to run it.
let dir: string;
let platform: EmbeddedPlatform;
let tenant: Tenant;
let data: TenantData;
const lane = sharedQueueName('finance');
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-submit-'));
  platform = openEmbeddedPlatform(dir);
  await ensureQueue(platform.queue, lane);
  ({ tenant } = await createTenant(platform, { id: parseTenantId(newTenantId('sub')), name: 'Submit' }));
  data = tenantDataAt(platform.stores, { kind: 'shared' }, tenant.id);
});
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Messages on the lane for `jobId`, looked for during `withinMs` (a submit's message reaches its queue a moment after its commit). */
async function messagesFor(jobId: string, withinMs = 500): Promise<number> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const got = await platform.queue.receive(lane, { maxMessages: 10, visibilityTimeoutSec: 1 });
    for (const m of got) await platform.queue.changeVisibility(lane, m.receiptHandle, 0);
    const n = got.filter((m) => m.body.includes(jobId)).length;
    if (n > 0 || Date.now() >= deadline) return n;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('submitJob when it breaks halfway', () => {
  it('a retry with the same Idempotency-Key re-sends the message of a job whose first attempt died before sending', async () => {
    // The first attempt: key claimed, record written, then the process died (no message).
    const jobId = 'job_crashed0000000000000001' as JobId;
    const now = new Date().toISOString();
    await data.jobs.claimIdempotencyKey({
      key: 'k-crash',
      requestHash: hashRequest('finance', {}),
      jobId,
      createdAt: now,
    });
    await data.jobs.create(
      makeJob(tenant.id, { id: jobId, input: {}, effectiveInput: {}, idempotencyKey: 'k-crash' }),
    );
    expect(await messagesFor(jobId)).toBe(0);

    const retry = await submitJob(platform.intake, {
      tenant,
      data,
      model: 'finance',
      input: {},
      idempotencyKey: 'k-crash',
    });
    expect(retry).toMatchObject({ created: false, job: { id: jobId, status: 'queued' } });
    expect(await messagesFor(jobId)).toBe(1);
    // Another retry sends nothing more: the job id is the message's dedup id.
    await submitJob(platform.intake, {
      tenant,
      data,
      model: 'finance',
      input: {},
      idempotencyKey: 'k-crash',
    });
    expect(await messagesFor(jobId)).toBe(1);
  });

  it('a send that fails leaves no record and frees the key, so the same retry creates the job', async () => {
    const failed = await submitJob(
      createSequencedJobIntake({ stores: platform.stores, queue: noSend(platform.queue) }),
      {
        tenant,
        data,
        model: 'finance',
        input: { revenue: 7 },
        idempotencyKey: 'k-down',
      },
    ).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(UnavailableError);
    expect((await data.jobs.list({ limit: 100 })).items.filter((j) => j.idempotencyKey === 'k-down')).toEqual(
      [],
    );

    const retry = await submitJob(platform.intake, {
      tenant,
      data,
      model: 'finance',
      input: { revenue: 7 },
      idempotencyKey: 'k-down',
    });
    expect(retry.created).toBe(true);
    expect(await messagesFor(retry.job.id)).toBe(1);
  });
});

/** The queue as it is when SQS is unreachable: every send fails. */
function noSend(queue: MessageQueue): MessageQueue {
  return {
    ...queue,
    send: async () => {
      throw new Error('connect ECONNREFUSED');
    },
  } as MessageQueue;
}

describe('warnings recorded with the job', () => {
  it("a queued job already carries its input's plausibility warnings (issue 13: rates typed as percent)", async () => {
    const { job, warnings } = await submitJob(platform.intake, {
      tenant,
      data,
      model: 'finance',
      input: { revenueGrowth: 5 },
    });
    expect(warnings.map((w) => w.path)).toEqual(['/input/revenueGrowth']);
    const stored = (await data.jobs.get(job.id))!;
    expect(stored.status).toBe('queued');
    expect(jobView(stored).warnings).toEqual(warnings);
  });
});
