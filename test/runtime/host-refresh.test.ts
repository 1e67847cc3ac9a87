import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddedTenantEraser } from '../../src/adapters/embedded/operation-store.ts';
import { STRICT_WEBHOOK_POLICY } from '../../src/core/webhook-target.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { startDedicatedHost } from '../../src/runtime/dedicated-host.ts';
import {
  type FunctionHost,
  type FunctionHostOptions,
  startFunctionHost,
} from '../../src/runtime/function-host.ts';
import { moduleUrl } from '../../src/runtime/module-url.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A directory whose next `list` reads the tenants at once (as a refresh that started earlier did) but
 * answers only when released: a refresh that is slow to finish, holding what it read before a change.
 */
function slowListing(directory: TenantDirectory) {
  let held: { listed: () => void; release: Promise<void> } | undefined;
  const wrapped: TenantDirectory = {
    ...directory,
    async list(query) {
      const page = await directory.list(query);
      const hold = held;
      held = undefined;
      if (hold) {
        hold.listed();
        await hold.release;
      }
      return page;
    },
  };
  return {
    directory: wrapped,
    /** Holds the next listing; resolves `listed` once it has read, answers when `release` is called. */
    holdNext() {
      let release!: () => void;
      let listed!: () => void;
      const read = new Promise<void>((r) => {
        listed = r;
      });
      held = { listed, release: new Promise<void>((r) => (release = r)) };
      return { read, release };
    },
  };
}

/** A function host of one thread on `platform` (in `dataDir`), stopped after the test. */
function hostOn(
  platform: EmbeddedPlatform,
  dataDir: string,
  options: Pick<FunctionHostOptions, 'queue' | 'directory'> & Partial<FunctionHostOptions>,
): FunctionHost {
  const host = startFunctionHost({
    stores: platform.stores,
    models: ['finance'],
    factory: {
      module: moduleUrl('../../src/entry/embedded-wiring', import.meta.url),
      options: { dataDir, maxReceiveCount: 3 },
    },
    poolSize: 1,
    visibilityTimeoutSec: 30,
    webhookPolicy: STRICT_WEBHOOK_POLICY,
    ...options,
  });
  cleanups.push(() => host.stop(Date.now()));
  return host;
}

describe("the function host's limits refresh", () => {
  it('a refresh asked for after a tenant change is never undone by one that read the tenant before it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-host-limits-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const platform: EmbeddedPlatform = openEmbeddedPlatform(dataDir);
    cleanups.push(() => platform.close());
    const tenantId = randomTenantId('lim');
    const limits = { maxRunningJobs: 3, maxQueuedJobs: 100, submitRatePerSec: 10, submitBurst: 10 };
    await platform.directory.create(
      makeTenant(tenantId, { config: { ...makeTenant(tenantId).config, limits } }),
    );
    const written: number[] = [];
    const queue = Object.assign(Object.create(platform.queue), {
      async setGroupLimit(group: string, maxRunning: number) {
        if (group === tenantId) written.push(maxRunning);
        return platform.queue.setGroupLimit(group, maxRunning);
      },
    }) as typeof platform.queue;
    const slow = slowListing(platform.directory);
    const host = hostOn(platform, dataDir, {
      queue: queue,
      directory: slow.directory,
    });
    await host.refresh();
    expect(written.at(-1)).toBe(3);

    // A refresh (the host's timer, or another change's) reads the tenant, then is slow to finish.
    const held = slow.holdNext();
    const earlier = host.refresh();
    await held.read;
    // The operator pauses the tenant; the route asks for a refresh and answers once it resolves.
    const tenant = (await platform.directory.get(tenantId))!;
    await platform.directory.update(
      { ...tenant, config: { ...tenant.config, limits: { ...limits, maxRunningJobs: 0 } } },
      tenant.version,
    );
    const asked = host.refresh();
    // Give the asked-for refresh its moment to finish first, as it may while the earlier one is slow; one
    // that waits for the earlier refresh (the fix) is only let through by the release.
    await Promise.race([asked, new Promise((r) => setTimeout(r, 500))]);
    held.release();
    await Promise.all([earlier, asked]);
    // Paused it stays: the earlier refresh's old limit did not land after the new one.
    expect(written.at(-1)).toBe(0);
    const row = platform.db.prepare('SELECT max_running FROM group_limits WHERE grp = ?').get(tenantId) as {
      max_running: number;
    };
    expect(row.max_running).toBe(0);
  }, 30_000);

  it('a refresh whose listing never answers is abandoned at its deadline, and writes nothing when it answers late', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-host-stall-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const platform: EmbeddedPlatform = openEmbeddedPlatform(dataDir);
    cleanups.push(() => platform.close());
    const tenantId = randomTenantId('stall');
    const limits = { maxRunningJobs: 3, maxQueuedJobs: 100, submitRatePerSec: 10, submitBurst: 10 };
    await platform.directory.create(
      makeTenant(tenantId, { config: { ...makeTenant(tenantId).config, limits } }),
    );
    const slow = slowListing(platform.directory);
    const errors: unknown[] = [];
    const host = hostOn(platform, dataDir, {
      queue: platform.queue,
      directory: slow.directory,
      refreshTimeoutMs: 500,
      onError: (error) => errors.push(error),
    });
    await host.refresh();
    const limitRow = () =>
      (
        platform.db.prepare('SELECT max_running FROM group_limits WHERE grp = ?').get(tenantId) as {
          max_running: number;
        }
      ).max_running;
    expect(limitRow()).toBe(3);

    // The next listing reads the tenant (limit 3), then never answers: a directory that stalls.
    const held = slow.holdNext();
    const stalled = host.refresh();
    await held.read;
    // On the old host this refresh, and every one after it, waited for good.
    await expect(stalled).rejects.toMatchObject({ code: 'pass_deadline' });
    // The operator pauses the tenant: the refresh asked for now runs, not held behind the stalled one.
    const tenant = (await platform.directory.get(tenantId))!;
    await platform.directory.update(
      { ...tenant, config: { ...tenant.config, limits: { ...limits, maxRunningJobs: 0 } } },
      tenant.version,
    );
    await host.refresh();
    expect(limitRow()).toBe(0);
    // The stalled listing answers at last, with the limit it read before the pause: it writes nothing.
    held.release();
    await new Promise((r) => setTimeout(r, 200));
    expect(limitRow()).toBe(0);
  }, 30_000);

  it('writes the limit and weight of a tenant id onboarded again, though its predecessor had the same', async () => {
    // The host remembers what it wrote by tenant id. An offboarding it never saw (over between two of its
    // refreshes) erased the id's rows; the next customer under the id, with the same limits, found them
    // "already written" and ran with no running limit and the default weight of its own.
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-host-again-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const platform: EmbeddedPlatform = openEmbeddedPlatform(dataDir);
    cleanups.push(() => platform.close());
    const tenantId = randomTenantId('again');
    const limits = { maxRunningJobs: 3, maxQueuedJobs: 100, submitRatePerSec: 10, submitBurst: 10 };
    const config = { ...makeTenant(tenantId).config, limits };
    await platform.directory.create(makeTenant(tenantId, { config, incarnation: 'first' }));
    const host = hostOn(platform, dataDir, {
      queue: platform.queue,
      directory: platform.directory,
    });
    await host.refresh();
    const limitRow = () =>
      platform.db.prepare('SELECT max_running FROM group_limits WHERE grp = ?').get(tenantId) as
        | { max_running: number }
        | undefined;
    const weightRows = () =>
      (
        platform.db.prepare('SELECT count(*) AS n FROM group_weights WHERE grp = ?').get(tenantId) as {
          n: number;
        }
      ).n;
    expect(limitRow()?.max_running).toBe(3);
    const weightsBefore = weightRows();
    expect(weightsBefore).toBeGreaterThan(0);
    // The offboarding's erase and removal, then the id onboarded again, all between two refreshes.
    await createEmbeddedTenantEraser(platform.db, dataDir, platform.jobsDb).eraseQueueTraces(tenantId, []);
    await platform.directory.delete(tenantId);
    await platform.directory.create(makeTenant(tenantId, { config, incarnation: 'second' }));
    await host.refresh();
    expect(limitRow()?.max_running).toBe(3);
    expect(weightRows()).toBe(weightsBefore);
  }, 30_000);

  it("the dedicated host's refresh, asked for after a change, opens the lanes the change made", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-host-lanes-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const platform: EmbeddedPlatform = openEmbeddedPlatform(dataDir);
    cleanups.push(() => platform.close());
    const slow = slowListing(platform.directory);
    const host = startDedicatedHost({
      queue: platform.queue,
      directory: slow.directory,
      dataDir,
      models: ['finance'],
      visibilityTimeoutSec: 30,
      // Only the refreshes this test asks for: no tick in between.
      refreshMs: 600_000,
      onError: () => undefined,
    });
    cleanups.push(() => host.stop());
    await host.refresh();

    // A sync (a tick, or another change's) reads the directory, then is slow to finish.
    const held = slow.holdNext();
    const earlier = host.refresh();
    await held.read;
    // A dedicated tenant is onboarded (or a move sends to its lane): the caller asks for a refresh.
    const tenantId = randomTenantId('ded');
    await platform.directory.create(makeTenant(tenantId, { placement: 'dedicated' }));
    const asked = host.refresh();
    await Promise.race([asked, new Promise((r) => setTimeout(r, 500))]);
    held.release();
    await Promise.all([earlier, asked]);
    // What the caller goes on with (a job sent to the lane) finds the lane's consumer there.
    expect(host.functions().map((f) => f.tenantId)).toContain(tenantId);
  }, 30_000);
});
