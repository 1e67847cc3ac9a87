import { afterEach, describe, expect, it, vi } from 'vitest';
import { settleDeadLetter } from '../../src/control/dead-letter-settler.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { usageReport } from '../../src/control/usage.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { encodeJobMessage } from '../../src/core/messages.ts';
import { laneFor } from '../../src/core/placement.ts';
import type { Placement, TenantConfig } from '../../src/core/tenant.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';
import { newTenantId } from '../support/server.ts';
import { ALL, advance, measuredDelivery, T0 } from './measured-delivery.ts';

// Compute is billed at the memory each attempt ran with, as the function that ran it recorded it on the
// job record (docs/billing.md, "Compute"): never at a 512 MB guess. Real SQLite stores and queue; the clock
// is a fake Date moved by hand, so every expected figure is worked out here as ms × MB.

const openPlatform = tempPlatforms('memory');

afterEach(() => {
  vi.useRealTimers();
});

/**
 * One tenant with one finance job, and its model function as its host wires it: `memory.mb` is the memory
 * the function runs with (the shared pool's, the dedicated process's, the Lambda's), read per delivery. The
 * workbook put takes `run.putMs` (the fake clock moves on), fails while `run.failing` (a platform fault:
 * retried), and never returns while `run.hang` (the process died under it: nobody sees its end).
 */
async function setUp(placement: Placement, config: Partial<TenantConfig> = {}) {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  const { platform } = openPlatform('process');
  const id = parseTenantId(newTenantId('mem'));
  const { tenant } = await createTenant(platform, { id, name: 'Memory', placement, config });
  const lane = laneFor(tenant, 'finance');
  await ensureQueue(platform.queue, lane.queue);
  const data = tenantDataAt(platform.stores, lane.store, id);
  const { job } = await submitJob(platform.intake, { tenant, data, model: 'finance', input: {} });
  const body = encodeJobMessage({ tenantId: id, jobId: job.id, model: 'finance' });
  const run = { putMs: 0, failing: false, hang: false };
  const memory = { mb: 512 };
  const deliver = measuredDelivery(
    platform,
    { queue: lane.queue, jobId: job.id, body },
    run,
    () => memory.mb,
  );
  /** A delivery whose process dies while it runs, after one progress write `evidenceMs` into the attempt. */
  const crashingDelivery = async (receiveCount: number, evidenceMs: number) => {
    run.hang = true;
    void deliver(receiveCount);
    await vi.waitFor(async () => expect((await data.jobs.get(job.id))?.status).toBe('running'));
    const running = (await data.jobs.get(job.id))!;
    const at = new Date(Date.parse(running.startedAt!) + evidenceMs).toISOString();
    await data.jobs.recordProgress(job.id, running.version, { done: 1, total: 4, unit: 'steps', at });
    run.hang = false;
  };
  const computeBilled = async () =>
    (await platform.usage.forTenant(id).list(ALL))
      .filter((r) => r.meter === 'compute_mb_ms')
      .map((r) => r.quantity);
  return {
    platform,
    id,
    data,
    jobId: job.id,
    body,
    queue: lane.queue,
    run,
    memory,
    deliver,
    crashingDelivery,
    computeBilled,
  };
}

describe('compute is billed at the memory the job ran with', () => {
  it('a dedicated tenant at 1024 MB is billed twice a shared 512 MB job of the same measured run', async () => {
    const shared = await setUp('shared');
    shared.run.putMs = 3000;
    await shared.deliver(1);
    const sharedJob = (await shared.data.jobs.get(shared.jobId))!;
    expect(sharedJob).toMatchObject({ status: 'succeeded', computeMs: 3000, memoryMb: 512 });
    expect(await shared.computeBilled()).toEqual([3000 * 512]); // 1,536,000 MB·ms

    const dedicated = await setUp('dedicated', { function: { memoryMb: 1024 } });
    // The tenant's own process, started with its setting (--max-old-space-size=1024).
    dedicated.memory.mb = 1024;
    dedicated.run.putMs = 3000;
    await dedicated.deliver(1);
    const dedicatedJob = (await dedicated.data.jobs.get(dedicated.jobId))!;
    expect(dedicatedJob).toMatchObject({ status: 'succeeded', computeMs: 3000, memoryMb: 1024 });
    // 3,072,000 MB·ms: twice the shared job's. Before, nothing recorded the memory and both were billed 512.
    expect(await dedicated.computeBilled()).toEqual([3000 * 1024]);
  });

  it('a memory setting changed between attempts bills each attempt at its own memory', async () => {
    const { data, jobId, run, memory, deliver, computeBilled } = await setUp('dedicated', {
      function: { memoryMb: 512 },
    });
    run.putMs = 2000;
    run.failing = true;
    await expect(deliver(1)).rejects.toThrow(/disk went away/);
    expect(await data.jobs.get(jobId)).toMatchObject({ computeMs: 2000, computeMbMs: 2000 * 512 });
    // The operator raises the tenant's memory; the retry runs in a process started with the new setting.
    memory.mb = 1024;
    advance(30_000);
    run.putMs = 3000;
    run.failing = false;
    await deliver(2);
    expect(await data.jobs.get(jobId)).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      memoryMb: 1024,
      computeMs: 5000,
    });
    // 2 s × 512 + 3 s × 1024 = 1,024,000 + 3,072,000 = 4,096,000 MB·ms: not 5 s × 512 (2,560,000, the
    // old default) nor 5 s × 1024 (5,120,000, the last attempt's memory for all of it).
    expect(await computeBilled()).toEqual([4_096_000]);
  });

  it('an attempt whose process died is billed up to its evidence at its own memory when the next takes over', async () => {
    const { data, jobId, run, memory, deliver, crashingDelivery, computeBilled } = await setUp('dedicated');
    memory.mb = 1024;
    await crashingDelivery(1, 700);
    advance(60_000); // the visibility timeout after the crash
    memory.mb = 512; // the setting was lowered meanwhile: the next process runs with 512 MB
    run.putMs = 3000;
    await deliver(2);
    expect(await data.jobs.get(jobId)).toMatchObject({ status: 'succeeded', attempts: 2, computeMs: 3700 });
    // 0.7 s × 1024 + 3 s × 512 = 716,800 + 1,536,000 = 2,252,800 (old code: 3.7 s × 512 = 1,894,400).
    expect(await computeBilled()).toEqual([2_252_800]);
  });

  it('a dead letter the server settles is billed at the memory its attempt recorded', async () => {
    const { platform, data, jobId, body, queue, memory, crashingDelivery, computeBilled } = await setUp(
      'dedicated',
      { function: { memoryMb: 2048 } },
    );
    memory.mb = 2048;
    await crashingDelivery(5, 1500);
    advance(10 * 60_000);
    const outcome = await settleDeadLetter(
      { directory: platform.directory, stores: platform.stores },
      { source: queue, body, receiveCount: 5 },
    );
    expect(outcome).toBe('settled');
    expect(await data.jobs.get(jobId)).toMatchObject({ status: 'failed', computeMs: 1500, memoryMb: 2048 });
    // 1.5 s × 2048 = 3,072,000 (old code: × 512 = 768,000).
    expect(await computeBilled()).toEqual([3_072_000]);
  });
});

describe("the operators' cost estimate", () => {
  it('prices compute at the memory each job ran with, not at the tenant’s function setting now', async () => {
    // A shared tenant's function setting is not what its jobs ran with: they ran on the shared pool.
    const { platform, id, run, deliver } = await setUp('shared', { function: { memoryMb: 4096 } });
    run.putMs = 30_000;
    await deliver(1);
    // All history, read 30 days from now: its workbook has been stored a month by then.
    const [usage] = (
      await usageReport({ ...platform, queue: platform.queue }, {}, Date.now() + 30 * 86_400_000)
    ).filter((u) => u.tenantId === id);
    expect(usage).toMatchObject({ computeSeconds: 30, jobs: 1 });
    // 30 s × 0.5 GB × $0.0000133334 + one request ($0.0000002) + a month of its workbook's bytes.
    const storage = (usage!.storageBytes / 1024 ** 3) * 0.023;
    const expected = 30 * 0.5 * 0.0000133334 + 0.0000002 + storage;
    expect(usage!.costUsd).toBeCloseTo(expected, 6);
    // The old estimate priced it at the setting, 4 GB: $0.0016.
    expect(usage!.costUsd).toBeLessThan(0.0003);
  });
});
