import { afterEach, describe, expect, it, vi } from 'vitest';
import { settleDeadLetter } from '../../src/control/dead-letter-settler.ts';
import { redriveJob } from '../../src/control/job-actions.ts';
import { reconcileJobs } from '../../src/control/job-reconciler.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { settleTimedOut } from '../../src/control/timed-out-jobs.ts';
import { billedComputeMs } from '../../src/core/attempt-time.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { encodeJobMessage } from '../../src/core/messages.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { jobLimitsFor } from '../../src/core/tenant.ts';
import { usageOfFinishedJob } from '../../src/core/usage.ts';
import { nextVersion } from '../../src/ports/job-store.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob } from '../contract/fixtures.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';
import { newTenantId } from '../support/server.ts';
import { ALL, advance, measuredDelivery, T0 } from './measured-delivery.ts';

// Compute is billed for the time the platform measured a function running the job (core/attempt-time.ts),
// never for the time until the server settled it. Real SQLite stores and queue; the clock is a fake Date
// moved by hand, so every expected figure is worked out here: compute_mb_ms = ms × 512 (the default memory).

const openPlatform = tempPlatforms('compute');
const QUEUE = sharedQueueName('finance');
const MB = 512;

afterEach(() => {
  vi.useRealTimers();
});

async function setUp() {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  const { platform } = openPlatform('process');
  await ensureQueue(platform.queue, QUEUE);
  const id = parseTenantId(newTenantId('compute'));
  const { tenant } = await createTenant(platform, { id, name: 'Compute' });
  const data = tenantDataAt(platform.stores, { kind: 'shared' }, id);
  const { job } = await submitJob(platform.intake, { tenant, data, model: 'finance', input: {} });
  // The message as a redelivery gets it: tests that need the queue empty (a lost message) take it out.
  const [message] = await platform.queue.receive(QUEUE, { maxMessages: 1, visibilityTimeoutSec: 3600 });
  const body = encodeJobMessage({ tenantId: id, jobId: job.id, model: 'finance' });
  // The workbook put takes `putMs` each and fails while `failing` (measured-delivery.ts).
  const run = { putMs: 0, failing: false };
  const deliver = measuredDelivery(platform, { queue: QUEUE, jobId: job.id, body }, run);
  /** What a delivery whose process crashed left: its `running` commit and one progress write `afterMs` in. */
  const crashedAttempt = async (afterMs?: number) => {
    const found = (await data.jobs.get(job.id))!;
    const running = await data.jobs.update(
      nextVersion(found, {
        status: 'running',
        attempts: found.attempts + 1,
        startedAt: new Date().toISOString(),
      }),
      found.version,
    );
    if (afterMs !== undefined) {
      const at = new Date(Date.now() + afterMs).toISOString();
      await data.jobs.recordProgress(job.id, running.version, { done: 1, total: 4, unit: 'steps', at });
    }
  };
  const computeBilled = async () =>
    (await platform.usage.forTenant(id).list(ALL)).filter((r) => r.meter === 'compute_mb_ms');
  return {
    platform,
    tenant,
    id,
    data,
    jobId: job.id,
    body,
    message,
    run,
    deliver,
    crashedAttempt,
    computeBilled,
  };
}

describe('compute is billed for measured run time only', () => {
  it('a job that failed an attempt and succeeded on the next is billed both runs, not the backoff between them', async () => {
    const { data, jobId, run, deliver, computeBilled } = await setUp();
    run.putMs = 2000;
    run.failing = true;
    await expect(deliver(1)).rejects.toThrow(/disk went away/);
    expect(await data.jobs.get(jobId)).toMatchObject({ status: 'running', computeMs: 2000 });
    advance(30_000); // the retry's backoff: nothing runs
    run.putMs = 3000;
    run.failing = false;
    await deliver(2);
    const job = (await data.jobs.get(jobId))!;
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2, computeMs: 5000 });
    // 2 s + 3 s; the old rule (finishedAt − startedAt) billed only the last 3 s, and never the first run.
    expect((await computeBilled()).map((r) => r.quantity)).toEqual([5000 * MB]);
  });

  it('a job whose last delivery failed too is billed each attempt’s run, not the backoff', async () => {
    const { data, jobId, run, deliver, computeBilled } = await setUp();
    run.failing = true;
    run.putMs = 2000;
    await expect(deliver(1)).rejects.toThrow();
    advance(30_000);
    run.putMs = 1500;
    await expect(deliver(5)).rejects.toThrow(); // the queue's last receive: the handler fails the job
    expect(await data.jobs.get(jobId)).toMatchObject({
      status: 'failed',
      error: { code: 'retries_exhausted' },
      computeMs: 3500,
    });
    // The old rule billed the last attempt's 1.5 s only.
    expect((await computeBilled()).map((r) => r.quantity)).toEqual([3500 * MB]);
  });

  it('an attempt whose process crashed is billed up to its last progress when the next delivery takes over', async () => {
    const { data, jobId, run, deliver, crashedAttempt, computeBilled } = await setUp();
    await crashedAttempt(700);
    advance(60_000); // the visibility timeout after the crash
    run.putMs = 3000;
    await deliver(2);
    expect(await data.jobs.get(jobId)).toMatchObject({ status: 'succeeded', attempts: 2, computeMs: 3700 });
    expect((await computeBilled()).map((r) => r.quantity)).toEqual([3700 * MB]);
  });

  it('a dead letter the server settles is billed up to its attempt’s last evidence, not the settle delay', async () => {
    const { platform, data, jobId, body, crashedAttempt, computeBilled } = await setUp();
    await crashedAttempt(1500);
    advance(10 * 60_000); // retries' backoff and the dead-letter sweep
    const outcome = await settleDeadLetter(
      { directory: platform.directory, stores: platform.stores },
      { source: QUEUE, body, receiveCount: 5 },
    );
    expect(outcome).toBe('settled');
    expect(await data.jobs.get(jobId)).toMatchObject({
      status: 'failed',
      error: { code: 'dead_lettered' },
      computeMs: 1500,
    });
    // The old rule billed the 10 min from its start to the settle: 600,000 ms × 512.
    expect((await computeBilled()).map((r) => r.quantity)).toEqual([1500 * MB]);
  });

  it('a dead letter with no evidence of running past its start is billed no compute', async () => {
    const { platform, data, jobId, body, crashedAttempt, computeBilled } = await setUp();
    await crashedAttempt();
    advance(5 * 60_000);
    await settleDeadLetter(
      { directory: platform.directory, stores: platform.stores },
      { source: QUEUE, body, receiveCount: 5 },
    );
    expect(await data.jobs.get(jobId)).toMatchObject({ status: 'failed', computeMs: 0 });
    const billed = await computeBilled();
    expect(billed.map((r) => r.quantity)).toEqual([0]);
  });

  it('a job the reconciler settles as message_lost is billed the 1 s it ran, not the 10 min grace', async () => {
    const { platform, data, jobId, message, run, deliver, computeBilled } = await setUp();
    run.putMs = 1000;
    run.failing = true;
    await expect(deliver(1)).rejects.toThrow();
    // Its message is lost (expired, purged): nothing will deliver it again.
    await platform.queue.delete(QUEUE, message!.receiptHandle);
    advance(11 * 60_000); // past SILOPOOL_RECONCILE_GRACE_SEC (600 s)
    const report = await reconcileJobs({
      directory: platform.directory,
      stores: platform.stores,
      queue: platform.queue,
      graceMs: 600_000,
      maxAttempts: 1,
    });
    expect(report.settled).toBe(1);
    expect(await data.jobs.get(jobId)).toMatchObject({
      status: 'failed',
      error: { code: 'message_lost' },
      computeMs: 1000,
    });
    // The old rule: 661 s × 512.
    expect((await computeBilled()).map((r) => r.quantity)).toEqual([1000 * MB]);
  });

  it('a job stopped at its time limit is billed up to the limit, not until the server settled it', async () => {
    const { platform, tenant, data, jobId, body, crashedAttempt, computeBilled } = await setUp();
    const limitMs = jobLimitsFor(tenant, 'finance').jobTimeoutSec * 1000;
    await crashedAttempt(100);
    advance(limitMs + 45_000); // the thread is ended at the limit; the settle comes later
    expect(
      await settleTimedOut({ directory: platform.directory, stores: platform.stores }, QUEUE, body),
    ).toBe(true);
    expect(await data.jobs.get(jobId)).toMatchObject({
      status: 'failed',
      error: { code: 'timeout' },
      computeMs: limitMs,
    });
    expect((await computeBilled()).map((r) => r.quantity)).toEqual([limitMs * MB]);
  });

  it('a redriven dead letter bills the first finish (no settle delay) and its later run, each once', async () => {
    const { platform, id, data, jobId, body, run, deliver, crashedAttempt, computeBilled } = await setUp();
    await crashedAttempt(400);
    advance(10 * 60_000);
    await settleDeadLetter(
      { directory: platform.directory, stores: platform.stores },
      { source: QUEUE, body, receiveCount: 5 },
    );
    advance(3_600_000); // an operator redrives it an hour later
    await redriveJob(
      { directory: platform.directory, stores: platform.stores, queue: platform.queue },
      { tenantId: id, jobId, by: 'operator' },
    );
    advance(2000);
    run.putMs = 3000;
    await deliver(1);
    expect(await data.jobs.get(jobId)).toMatchObject({ status: 'succeeded', attempts: 2, computeMs: 3400 });
    // The first finish's 400 ms (the old rule billed its 10 min), and the redriven run's 3 s under an id of
    // its own (docs/billing.md, "Redrive"); the same finish delivered again adds nothing.
    expect((await computeBilled()).map((r) => r.quantity).sort((a, b) => a - b)).toEqual([
      400 * MB,
      3000 * MB,
    ]);
    await deliver(1).catch(() => undefined);
    expect((await computeBilled()).map((r) => r.quantity).sort((a, b) => a - b)).toEqual([
      400 * MB,
      3000 * MB,
    ]);
  });
});

describe('records from before run time was measured', () => {
  const legacy = (patch: Partial<JobRecord>) =>
    makeJob(parseTenantId('legacy-t'), {
      attempts: 1,
      startedAt: '2026-11-10T09:00:00.000Z',
      finishedAt: '2026-11-10T09:10:00.500Z',
      ...patch,
    });

  it('keep finishedAt − startedAt when a function finished them', () => {
    for (const job of [
      legacy({ status: 'succeeded' }),
      legacy({ status: 'failed', error: { code: 'retries_exhausted', message: 'x' } }),
      legacy({ status: 'failed', error: { code: 'validation_failed', message: 'x' } }),
    ]) {
      expect(billedComputeMs(job)).toBe(600_500);
      expect(usageOfFinishedJob(job).find((r) => r.meter === 'compute_mb_ms')?.quantity).toBe(600_500 * MB);
    }
  });

  it('bill no compute when the server settled them (their finishedAt is the settle time)', () => {
    for (const code of ['dead_lettered', 'message_lost', 'timeout']) {
      const job = legacy({ status: 'failed', error: { code, message: 'x' } });
      expect(usageOfFinishedJob(job).find((r) => r.meter === 'compute_mb_ms')?.quantity).toBe(0);
      // Still one finished job.
      expect(usageOfFinishedJob(job).find((r) => r.meter === 'jobs')?.quantity).toBe(1);
    }
  });

  it('bill the measured run time when they have it, whatever finished them', () => {
    const job = legacy({ status: 'failed', error: { code: 'dead_lettered', message: 'x' }, computeMs: 1234 });
    expect(usageOfFinishedJob(job).find((r) => r.meter === 'compute_mb_ms')?.quantity).toBe(1234 * MB);
  });
});
