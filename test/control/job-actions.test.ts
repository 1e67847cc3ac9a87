import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cancelJob, redriveJob, retryJob } from '../../src/control/job-actions.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import { listJobsAcrossTenants } from '../../src/control/operator-jobs.ts';
import { ConflictError } from '../../src/core/errors.ts';
import { parseTenantId, type TenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { decodeJobMessage, encodeJobMessage } from '../../src/core/messages.ts';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import { makeJob, makeTenant } from '../contract/fixtures.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

const openPlatform = tempPlatforms('job-actions');

async function setUp() {
  const { platform } = openPlatform('process');
  for (const model of ['finance', 'funds']) {
    await ensureQueue(platform.queue, `shared_${model}`, { visibilityTimeoutSec: 30, maxReceiveCount: 3 });
  }
  const addTenant = async (): Promise<TenantId> => {
    const id = parseTenantId(`t-${randomUUID().slice(0, 8)}`);
    await platform.directory.create(makeTenant(id));
    return id;
  };
  const add = async (
    tenantId: TenantId,
    patch: Partial<JobRecord> = {},
    at = Date.now(),
  ): Promise<JobRecord> => {
    const job = makeJob(tenantId, {
      input: {},
      effectiveInput: {},
      cost: 7,
      priority: 1,
      createdAtMs: at,
      ...patch,
    });
    await platform.stores.jobs({ kind: 'shared' }).forTenant(tenantId).create(job);
    return job;
  };
  const deps = { directory: platform.directory, stores: platform.stores, queue: platform.queue };
  const messagesOn = async (queue: string) => {
    const seen = await platform.queue.receive(queue, { maxMessages: 10, visibilityTimeoutSec: 1 });
    return seen.map((m) => decodeJobMessage(m.body)?.jobId);
  };
  return { platform, deps, addTenant, add, messagesOn };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (error: unknown) => (error instanceof ConflictError ? `409 ${error.code}` : String(error)),
  );

describe("an operator's actions on one job", () => {
  it('cancels a queued job once, and refuses a claimed one with 409 not_cancellable', async () => {
    const { deps, addTenant, add } = await setUp();
    const tenantId = await addTenant();
    const queued = await add(tenantId);
    const running = await add(tenantId, { status: 'running', attempts: 1 });
    const action = (jobId: string) => cancelJob(deps, { tenantId, jobId, by: 'op-1' });

    // Two operators at once: one cancel, one refusal, never two writes.
    const results = await Promise.all([codeOf(action(queued.id)), codeOf(action(queued.id))]);
    expect(results.sort()).toEqual(['409 not_cancellable', 'ok']);
    const cancelled = await deps.stores.jobs({ kind: 'shared' }).forTenant(tenantId).get(queued.id);
    expect(cancelled?.status).toBe('cancelled');
    expect(cancelled?.story?.events.filter((e) => e.step === 'cancelled')).toHaveLength(1);

    const refused = await action(running.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConflictError);
    expect((refused as ConflictError).status).toBe(409);
    expect((refused as ConflictError).message).toContain('a function has already claimed it');
  });

  it('retries a failed job as a new attempt, once, with one message on its lane', async () => {
    const { deps, addTenant, add, messagesOn } = await setUp();
    const tenantId = await addTenant();
    const failed = await add(tenantId, {
      status: 'failed',
      attempts: 1,
      error: { code: 'timeout', message: 'ran too long' },
      finishedAt: new Date().toISOString(),
    });
    const succeeded = await add(tenantId, { status: 'succeeded', attempts: 1 });
    const action = (jobId: string) => retryJob(deps, { tenantId, jobId, by: 'op-1' });

    const results = await Promise.all([codeOf(action(failed.id)), codeOf(action(failed.id))]);
    expect(results.sort()).toEqual(['409 not_retryable', 'ok']);
    const job = await deps.stores.jobs({ kind: 'shared' }).forTenant(tenantId).get(failed.id);
    expect(job).toMatchObject({ status: 'queued', attempts: 1 });
    expect(job?.error).toBeUndefined();
    expect(job?.story?.events).toEqual([
      expect.objectContaining({ step: 'retried', attempt: 2, detail: 'by an operator', internal: 'by op-1' }),
    ]);
    expect(await messagesOn('shared_finance')).toEqual([failed.id]);

    expect(await codeOf(action(succeeded.id))).toBe('409 not_retryable');
  });

  it("redrives a dead-lettered job from the job: back on its lane, its dead letter gone, others' kept", async () => {
    const { platform, deps, addTenant, add, messagesOn } = await setUp();
    const tenantId = await addTenant();
    const error = { code: 'dead_lettered', message: 'every attempt crashed' };
    const dead = await add(tenantId, { status: 'failed', attempts: 3, error });
    const other = await add(tenantId, { status: 'failed', attempts: 3, error });
    const dlq = deadLetterQueueName('shared_finance');
    for (const job of [dead, other]) {
      await platform.queue.send(dlq, {
        body: encodeJobMessage({ tenantId, jobId: job.id, model: 'finance' }),
        groupId: tenantId,
      });
    }
    const timedOut = await add(tenantId, {
      status: 'failed',
      attempts: 1,
      error: { code: 'timeout', message: 'x' },
    });

    const redriven = await redriveJob(deps, { tenantId, jobId: dead.id, by: 'op-2' });
    expect(redriven.status).toBe('queued');
    expect(redriven.story?.events.at(-1)).toMatchObject({
      step: 'redriven',
      attempt: 4,
      detail: 'by an operator',
      internal: 'by op-2',
    });
    expect(await messagesOn('shared_finance')).toEqual([dead.id]);
    expect(await messagesOn(dlq)).toEqual([other.id]);
    expect(await codeOf(redriveJob(deps, { tenantId, jobId: timedOut.id, by: 'op-2' }))).toBe(
      '409 not_dead_lettered',
    );
  });
});

describe('the operator job list', () => {
  it('refuses to retry or redrive a job of a suspended or offboarding tenant (409 tenant_not_active), and sends nothing', async () => {
    const { platform, deps, addTenant, add, messagesOn } = await setUp();
    for (const status of ['suspended', 'offboarding'] as const) {
      const tenantId = await addTenant();
      const tenant = (await platform.directory.get(tenantId))!;
      await platform.directory.update({ ...tenant, status, version: tenant.version + 1 }, tenant.version);
      const failed = await add(tenantId, {
        status: 'failed',
        attempts: 3,
        error: { code: 'dead_lettered', message: 'x' },
      });
      expect(await codeOf(retryJob(deps, { tenantId, jobId: failed.id, by: 'op-1' }))).toBe(
        '409 tenant_not_active',
      );
      expect(await codeOf(redriveJob(deps, { tenantId, jobId: failed.id, by: 'op-1' }))).toBe(
        '409 tenant_not_active',
      );
      expect(
        (await platform.stores.jobs({ kind: 'shared' }).forTenant(tenantId).get(failed.id))?.status,
      ).toBe('failed');
    }
    expect(await messagesOn('shared_finance')).toEqual([]);
  });

  it('lists jobs across tenants newest first, filters by tenant, model, status and time, and pages', async () => {
    const { deps, addTenant, add } = await setUp();
    const a = await addTenant();
    const b = await addTenant();
    const t0 = Date.now() - 60_000;
    const a1 = await add(a, {}, t0);
    const b1 = await add(b, { model: 'funds', status: 'failed' }, t0 + 1000);
    const a2 = await add(a, { status: 'succeeded' }, t0 + 2000);
    const b2 = await add(b, {}, t0 + 3000);
    const ids = async (query: Partial<Parameters<typeof listJobsAcrossTenants>[1]>) => {
      const page = await listJobsAcrossTenants(deps, { limit: 50, ...query });
      // Other tests' tenants share nothing here: each test has its own data dir.
      return page.items.map((j) => j.id);
    };
    expect(await ids({})).toEqual([b2.id, a2.id, b1.id, a1.id]);
    expect(await ids({ tenantId: a })).toEqual([a2.id, a1.id]);
    expect(await ids({ model: 'funds' })).toEqual([b1.id]);
    expect(await ids({ status: 'queued' })).toEqual([b2.id, a1.id]);
    expect(
      await ids({ from: new Date(t0 + 500).toISOString(), to: new Date(t0 + 2500).toISOString() }),
    ).toEqual([a2.id, b1.id]);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listJobsAcrossTenants(deps, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([b2.id, a2.id, b1.id, a1.id]);
  });
});
