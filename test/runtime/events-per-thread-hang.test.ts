import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startDeadLetterSettler } from '../../src/control/dead-letter-settler.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { settleTimedOut } from '../../src/control/timed-out-jobs.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { emptyConfig } from '../../src/core/tenant.ts';
import { STRICT_WEBHOOK_POLICY } from '../../src/core/webhook-target.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { startFunctionHost } from '../../src/runtime/function-host.ts';
import { moduleUrl } from '../../src/runtime/module-url.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';

// SILOPOOL_EVENTS_PER_THREAD above 1: a function thread runs several events at once. A job whose run hung
// before its `running` status (here: a directory that never answers for its tenant) timed out beside another
// event of its thread, and was given back uncounted (as if it had waited its turn in a batch): it ran and hung
// again for ever, never reaching the dead-letter queue. Real function threads (through tsx, the factory of
// hang-before-running-factory.ts), the real handler, SQLite queue and stores on disk.
const QUEUE = sharedQueueName('finance');
const MAX_RECEIVES = 3;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a job that hangs before it starts, beside another event of its thread', () => {
  it('is counted each time and dead-lettered after its receives; its neighbours succeed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-events-hang-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const platform = openEmbeddedPlatform(dataDir);
    cleanups.push(() => platform.close());
    await ensureQueue(platform.queue, QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: MAX_RECEIVES });

    const hangId: TenantId = randomTenantId('hang');
    const okId: TenantId = randomTenantId('ok');
    await platform.directory.create(
      makeTenant(hangId, { config: { ...emptyConfig(), limits: { jobTimeoutSec: 1 } } }),
    );
    await platform.directory.create(makeTenant(okId));
    const submit = async (id: TenantId) => {
      const tenant = (await platform.directory.get(id))!;
      const data = tenantDataAt(platform.stores, { kind: 'shared' }, id);
      const { job } = await submitJob(platform.intake, { tenant, data, model: 'finance', input: {} });
      return { id: job.id, data };
    };
    const hung = await submit(hangId);
    // More neighbours than the hanging job has receives: one is held beside it at each of its time limits.
    const neighbours: Awaited<ReturnType<typeof submit>>[] = [];
    for (let i = 0; i < 2 * MAX_RECEIVES; i++) neighbours.push(await submit(okId));

    const deps = { directory: platform.directory, stores: platform.stores, queue: platform.queue };
    const host = startFunctionHost({
      queue: platform.queue,
      directory: platform.directory,
      stores: platform.stores,
      models: ['finance'],
      factory: {
        module: moduleUrl('./hang-before-running-factory', import.meta.url),
        options: { dataDir, maxReceiveCount: MAX_RECEIVES, hangTenant: hangId },
      },
      poolSize: 1,
      perThread: 2,
      visibilityTimeoutSec: 30,
      webhookPolicy: STRICT_WEBHOOK_POLICY,
      settleTimedOut: (queue, body) => settleTimedOut(deps, queue, body),
    });
    cleanups.push(() => host.stop(Date.now()));
    const settler = startDeadLetterSettler({ ...deps, outbox: platform.queue, intervalMs: 200 });
    cleanups.push(() => settler.stop());

    await vi.waitFor(
      async () => {
        const job = await hung.data.jobs.get(hung.id as never);
        expect(job?.status).toBe('failed');
      },
      { timeout: 60_000, interval: 250 },
    );
    const job = await hung.data.jobs.get(hung.id as never);
    expect(job?.error?.code).toBe('dead_lettered');
    // It ran (and hung) once per receive, no more: before, each time beside a neighbour came back uncounted.
    const attempts = readFileSync(join(dataDir, 'hang-attempts'), 'utf8').trim().split('\n');
    expect(attempts).toHaveLength(MAX_RECEIVES);
    await vi.waitFor(
      async () => {
        for (const n of neighbours) expect((await n.data.jobs.get(n.id as never))?.status).toBe('succeeded');
      },
      { timeout: 30_000, interval: 250 },
    );
  }, 120_000);
});
