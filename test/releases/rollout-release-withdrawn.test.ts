import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRolloutRunner } from '../../src/control/release-rollout.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import { selectModel } from '../../src/models/model-selection.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease, rolloutPlatform, rolloutRunner, until } from './fixtures.ts';

// A release whose folder is removed while it is rolled out (withdrawn by hand: found broken, published by
// mistake). The driver had loaded it at the start and never looked again: it went on deploying it and made
// it current. Every process that opened the releases folder afresh (a function thread, a restarted server)
// then found no release for the pointer, and every job of every shared tenant failed (unknown model).

const rig = rolloutPlatform('silopool-rollout-withdrawn-');

describe('a release withdrawn while it is rolled out', () => {
  it('halts the upgrade, rolls the wave in progress back and is never made current', async () => {
    const deps = rig.deps;
    const id = randomTenantId('wd') as TenantId;
    await createTenant(deps, { id, name: 'W', placement: 'dedicated' });
    const shared = randomTenantId('ws') as TenantId;
    await createTenant(deps, { id: shared, name: 'S', placement: 'shared' });
    publishRelease(rig.dir, 'r9', { models: { finance: { version: '1.9.0', body: "version: '1.9.0'" } } });
    const releases = join(rig.dir, 'releases');
    let calls = 0;
    rig.runner = createRolloutRunner({
      ...deps,
      operations: rig.operations,
      catalog: openEmbeddedReleaseCatalog(releases),
      observeMs: 300,
      pollMs: 10,
      retryMs: 10,
      alarms: {
        async firing() {
          // 1: the canary's baseline; 2: its first look, once it runs r9: the folder goes.
          if (++calls === 2) rmSync(join(releases, 'r9'), { recursive: true, force: true });
          return [];
        },
      },
    });
    const op = await rig.runner.start('r9');
    await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
    const ended = await rig.operations.get(op.id);
    expect(ended?.status).toBe('failed');
    expect(ended?.error?.code).toBe('rollout_failed');
    expect(ended?.error?.message).toContain('r9');
    expect((await rig.platform.directory.get(id))?.release).toBeUndefined();
    // A process that opens the folder now (a function thread) still runs the shared tenants' jobs.
    const fresh = openEmbeddedReleaseCatalog(releases);
    expect(await fresh.current()).toBe('builtin');
    const tenant = (await rig.platform.directory.get(shared))!;
    await expect(selectModel(fresh, tenant, { model: 'finance' }, 'shared')).resolves.toMatchObject({
      release: 'builtin',
    });
  });
});

// Tenants of the waves done kept a withdrawn release in their records: they ran the current release (no code
// is loaded for the one they named) while the record, the console and the releases list said otherwise, and
// a rollback restored it as their "previous" release.
describe('a release withdrawn after tenants got it', () => {
  const runner = (alarms?: (tenants: readonly TenantId[]) => Promise<void>, onReleaseChange?: () => void) =>
    rolloutRunner(rig, {
      observeMs: 200,
      pollMs: 10,
      retryMs: 10,
      alarms: {
        async firing(tenants) {
          await alarms?.(tenants);
          return [];
        },
      },
      async onReleaseChange() {
        onReleaseChange?.();
      },
    });
  const dedicated = async (release?: string) => {
    const id = randomTenantId('wd') as TenantId;
    const { tenant } = await createTenant(rig.deps, { id, name: 'W', placement: 'dedicated' });
    if (release)
      await rig.platform.directory.update(
        { ...tenant, release, version: tenant.version + 1 },
        tenant.version,
      );
    return id;
  };

  it('during a later wave: the waves done go back to their previous release too', async () => {
    await dedicated();
    await dedicated();
    publishRelease(rig.dir, 'r9', { models: { finance: { version: '1.9.0', body: "version: '1.9.0'" } } });
    let second: TenantId | undefined;
    rig.runner = runner(async (tenants) => {
      // Wave 2's baseline: wave 1 is done, on r9; the folder goes.
      if (second !== undefined && tenants.includes(second))
        rmSync(join(rig.dir, 'releases', 'r9'), { recursive: true, force: true });
    });
    const op = await rig.runner.start('r9');
    const [[first], [next]] = JSON.parse(op.params.waves as string) as [TenantId[], TenantId[]];
    second = next;
    await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
    const ended = (await rig.operations.get(op.id))!;
    expect(ended.error?.code).toBe('rollout_failed');
    expect(ended.error?.message).toContain(
      '1 wave before it, on r9 withdrawn, went back to its previous release too',
    );
    expect((await rig.platform.directory.get(first!))?.release).toBeUndefined();
    expect((await rig.platform.directory.get(next!))?.release).toBeUndefined();
  });

  it('before a later upgrade: its rollback does not restore the withdrawn release', async () => {
    const id = await dedicated('r-gone');
    let calls = 0;
    publishRelease(rig.dir, 'r10', { models: { finance: { version: '1.10.0', body: "version: '1.10.0'" } } });
    rig.runner = rolloutRunner(rig, {
      observeMs: 60_000,
      pollMs: 10,
      alarms: {
        // The baseline's look, then one that finds the wave unhealthy.
        firing: async () =>
          ++calls === 1 ? [] : [{ tenantId: id, name: 'errors', reason: 'the wave failed' }],
      },
    });
    const op = await rig.runner.start('r10');
    await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
    expect((await rig.operations.get(op.id))?.error?.code).toBe('rolled_back');
    expect((await rig.platform.directory.get(id))?.release).toBeUndefined();
  });

  it('with no upgrade running: the runner moves its tenants back to the current release when it resumes', async () => {
    publishRelease(rig.dir, 'r11', { models: { finance: { version: '1.11.0', body: "version: '1.11.0'" } } });
    const gone = await dedicated('r-gone');
    const kept = await dedicated('r11');
    let changes = 0;
    rig.runner = runner(undefined, () => changes++);
    expect(await rig.runner.resume()).toBe(0);
    expect((await rig.platform.directory.get(gone))?.release).toBeUndefined();
    expect((await rig.platform.directory.get(kept))?.release).toBe('r11');
    expect(changes).toBe(1);
  });

  // A release there but unreadable is not a withdrawn one: moving its tenants would change their code on a
  // transient file-system fault (the catalog read every error as "not there").
  it('a release whose manifest cannot be read keeps its tenants', async () => {
    publishRelease(rig.dir, 'r12', { models: { finance: { version: '1.12.0', body: "version: '1.12.0'" } } });
    const id = await dedicated('r12');
    const manifest = join(rig.dir, 'releases', 'r12', 'release.json');
    rmSync(manifest);
    mkdirSync(manifest); // EISDIR on read: there, not readable
    rig.runner = runner();
    await rig.runner.resume();
    expect((await rig.platform.directory.get(id))?.release).toBe('r12');
  });

  // Resume listed the folder, then read the tenants: a release published and given to a tenant (an upgrade's
  // wave) between the two was taken for withdrawn, and the tenant moved off the release it had just got.
  it('a release published and given to a tenant while resume looks keeps that tenant on it', async () => {
    const fresh = await dedicated();
    const gone = await dedicated('r-gone');
    const catalog = openEmbeddedReleaseCatalog(join(rig.dir, 'releases'));
    let published = false;
    rig.runner = rolloutRunner(rig, {
      catalog: {
        ...catalog,
        // Right after the folder is listed: r14 is published and deployed to `fresh`, as a wave does.
        async list() {
          const listed = await catalog.list();
          if (!published) {
            published = true;
            publishRelease(rig.dir, 'r14', {
              models: { finance: { version: '1.14.0', body: "version: '1.14.0'" } },
            });
            const tenant = (await rig.platform.directory.get(fresh))!;
            await rig.platform.directory.update(
              { ...tenant, release: 'r14', version: tenant.version + 1 },
              tenant.version,
            );
          }
          return listed;
        },
      },
    });
    await rig.runner.resume();
    expect(published).toBe(true);
    expect((await rig.platform.directory.get(fresh))?.release).toBe('r14');
    // A release really withdrawn is still found.
    expect((await rig.platform.directory.get(gone))?.release).toBeUndefined();
  });

  it('a releases folder that cannot be listed moves no tenant', async () => {
    publishRelease(rig.dir, 'r13', { models: { finance: { version: '1.13.0', body: "version: '1.13.0'" } } });
    const id = await dedicated('r13');
    const releases = join(rig.dir, 'releases');
    rmSync(releases, { recursive: true, force: true });
    writeFileSync(releases, 'not a folder'); // ENOTDIR on readdir: there, not listable
    rig.runner = runner();
    await rig.runner.resume();
    expect((await rig.platform.directory.get(id))?.release).toBe('r13');
  });
});
