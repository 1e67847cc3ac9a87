import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { reconcileJobs, startJobReconciler } from '../../src/control/job-reconciler.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import type { RecoveryAction } from '../../src/control/metrics.ts';
import { newJobId, parseTenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { decodeJobMessage, encodeJobMessage } from '../../src/core/messages.ts';
import { WEBHOOK_QUEUE } from '../../src/functions/webhook-message.ts';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import { makeJob, makeTenant } from '../contract/fixtures.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';
import { firstListingStalls } from '../support/stalling-directory.ts';

const openPlatform = tempPlatforms('reconcile');

async function setUp() {
  const { platform, dir } = openPlatform('process');
  for (const model of ['finance', 'funds']) await ensureQueue(platform.queue, `shared_${model}`);
  const id = parseTenantId(`t-${randomUUID().slice(0, 8)}`);
  await platform.directory.create(makeTenant(id, { name: 'Reconciled' }));
  const jobs = platform.stores.jobs({ kind: 'shared' }).forTenant(id);
  const hourAgo = Date.now() - 3_600_000;
  const add = async (patch: Partial<JobRecord>): Promise<JobRecord> => {
    const job = makeJob(id, {
      id: newJobId(),
      input: {},
      effectiveInput: {},
      cost: 7,
      priority: 1,
      createdAtMs: hourAgo,
      ...patch,
    });
    await jobs.create(job);
    return job;
  };
  const messageOf = (job: JobRecord) => ({
    body: encodeJobMessage({ tenantId: id, jobId: job.id, model: job.model }),
    groupId: id,
  });
  return { platform, dir, id, jobs, add, messageOf };
}

describe('the job reconciler', () => {
  it('settles or re-sends each job left without a live message, and leaves the others alone', async () => {
    const { platform, jobs, add, messageOf } = await setUp();
    const lost = await add({ status: 'queued' });
    const exhausted = await add({ status: 'running', attempts: 4 });
    const deadLettered = await add({ status: 'running', attempts: 2 });
    const live = await add({ status: 'queued' });
    const young = await add({ status: 'queued', updatedAt: new Date().toISOString() });
    // A dead letter whose outbox record is gone: only the DLQ itself says what happened.
    await platform.queue.send(deadLetterQueueName('shared_finance'), messageOf(deadLettered));
    await platform.queue.send('shared_finance', messageOf(live));

    const recovered: RecoveryAction[] = [];
    const report = await reconcileJobs({
      directory: platform.directory,
      stores: platform.stores,
      queue: platform.queue,
      graceMs: 60_000,
      maxAttempts: 4,
      onRecovered: (_tenant, action) => recovered.push(action),
    });
    expect(report).toEqual({ checked: 4, settled: 2, resent: 1, announced: 0 });
    expect(recovered.sort()).toEqual(['reconciled_resent', 'reconciled_settled', 'reconciled_settled']);

    expect(await jobs.get(exhausted.id)).toMatchObject({ status: 'failed', error: { code: 'message_lost' } });
    expect(await jobs.get(deadLettered.id)).toMatchObject({
      status: 'failed',
      error: { code: 'dead_lettered' },
    });
    // Re-sent to its lane with what it was sent with; the record gets a new version, so a second pass waits.
    const sent = await platform.queue.receive('shared_finance', { maxMessages: 10 });
    const resent = sent.find((m) => decodeJobMessage(m.body)?.jobId === lost.id);
    expect(resent).toMatchObject({ cost: 7, priority: 1 });
    expect(await jobs.get(lost.id)).toMatchObject({ status: 'queued', version: 2 });
    for (const untouched of [live, young]) expect((await jobs.get(untouched.id))?.version).toBe(1);
  });

  it('goes on past a dedicated tenant whose store is gone, and does not make that store again', async () => {
    const { platform, dir, add } = await setUp();
    const lost = await add({ status: 'queued' });
    // Listed as dedicated while its store is already removed (a demotion ending during the pass).
    const gone = parseTenantId(`t-${randomUUID().slice(0, 8)}`);
    await platform.directory.create(makeTenant(gone, { name: 'Demoted', placement: 'dedicated' }));
    const report = await reconcileJobs({
      directory: platform.directory,
      stores: platform.stores,
      queue: platform.queue,
      graceMs: 60_000,
      maxAttempts: 4,
    });
    expect(report).toMatchObject({ checked: 1, resent: 1 });
    expect(
      (await platform.stores.jobs({ kind: 'shared' }).forTenant(lost.tenantId).get(lost.id))?.version,
    ).toBe(2);
    expect(existsSync(join(dir, 'tenants', gone))).toBe(false);
  });

  it('announces a job recovery settled whose notification a crash cut off, once', async () => {
    const { platform, id, jobs, add } = await setUp();
    await ensureQueue(platform.queue, WEBHOOK_QUEUE);
    const tenant = (await platform.directory.get(id))!;
    await platform.directory.update(
      {
        ...tenant,
        config: { ...tenant.config, webhook: { url: 'https://hooks.example.com/h', secret: 'whsec_x' } },
      },
      tenant.version,
    );
    const cutOff = await add({ status: 'failed', error: { code: 'message_lost', message: 'lost' } });
    const announced = await add({
      status: 'failed',
      error: { code: 'dead_lettered', message: 'dead' },
      announcedAt: new Date().toISOString(),
    });
    const modelFailure = await add({
      status: 'failed',
      error: { code: 'model_error', message: 'bad input' },
    });
    const options = {
      directory: platform.directory,
      stores: platform.stores,
      queue: platform.queue,
      graceMs: 60_000,
      maxAttempts: 4,
    };
    expect((await reconcileJobs(options)).announced).toBe(1);
    const sent = await platform.queue.receive(WEBHOOK_QUEUE, { maxMessages: 10 });
    expect(sent.map((m) => (JSON.parse(m.body) as { jobId: string }).jobId)).toEqual([cutOff.id]);
    expect((await jobs.get(cutOff.id))?.announcedAt).toBeDefined();
    for (const other of [announced, modelFailure]) expect((await jobs.get(other.id))?.version).toBe(1);
    // A second pass finds it announced.
    expect((await reconcileJobs(options)).announced).toBe(0);
  });
});

describe('the job reconciler on its timer', () => {
  it('abandons a pass whose directory never answers: the next passes run, and stop() does not wait for it', async () => {
    const { platform } = await setUp();
    const { directory, lists } = firstListingStalls(platform.directory);
    const errors: unknown[] = [];
    const reconciler = startJobReconciler({
      directory,
      stores: platform.stores,
      queue: platform.queue,
      graceMs: 60_000,
      maxAttempts: 4,
      intervalMs: 50,
      passTimeoutMs: 300,
      onError: (error) => errors.push(error),
    });
    // On the old reconciler the hung pass held every later one (one listing, ever), and stop() waited on it.
    await vi.waitFor(() => expect(lists()).toBeGreaterThanOrEqual(3), { timeout: 5000 });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'pass_deadline' }));
    await expect(reconciler.stop()).resolves.toBeUndefined();
  }, 15_000);
});
