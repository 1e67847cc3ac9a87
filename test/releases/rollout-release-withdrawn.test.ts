import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRolloutRunner } from '../../src/control/release-rollout.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import { selectModel } from '../../src/models/model-selection.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease, rolloutPlatform, until } from './fixtures.ts';

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
