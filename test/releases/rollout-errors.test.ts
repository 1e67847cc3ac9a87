import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRolloutRunner } from '../../src/control/release-rollout.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease, rolloutPlatform, until } from './fixtures.ts';

const rig = rolloutPlatform('silopool-rollout-');

// An upgrade whose driver hit one error (a CloudWatch or store hiccup) was left `running` with nothing
// driving it: every later upgrade was refused (409 rollout_in_progress) until the server restarted, and
// starting the same release again answered the stuck operation without driving it.
describe('an upgrade whose driver hits an error', () => {
  it('is driven again and ends, without a restart', async () => {
    const deps = rig.deps;
    const id = randomTenantId('roll') as TenantId;
    await createTenant(deps, { id, name: 'R', placement: 'dedicated' });
    publishRelease(rig.dir, 'r2', { models: { finance: { version: '1.2.0', body: "version: '1.2.0'" } } });
    let failures = 1;
    rig.runner = createRolloutRunner({
      ...deps,
      operations: rig.operations,
      catalog: openEmbeddedReleaseCatalog(join(rig.dir, 'releases')),
      observeMs: 50,
      pollMs: 10,
      retryMs: 20,
      alarms: {
        async firing() {
          if (failures-- > 0) throw new Error('alarms unavailable for a moment');
          return [];
        },
      },
    });
    const op = await rig.runner.start('r2');
    await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
    expect((await rig.operations.get(op.id))?.status).toBe('succeeded');
    expect((await rig.platform.directory.get(id))?.release).toBe('r2');
  });

  it('keeps being driven while the error lasts, and a stop does not wait out its backoff', async () => {
    const deps = rig.deps;
    const id = randomTenantId('roll') as TenantId;
    await createTenant(deps, { id, name: 'R', placement: 'dedicated' });
    publishRelease(rig.dir, 'r3', { models: { finance: { version: '1.3.0', body: "version: '1.3.0'" } } });
    let calls = 0;
    rig.runner = createRolloutRunner({
      ...deps,
      operations: rig.operations,
      catalog: openEmbeddedReleaseCatalog(join(rig.dir, 'releases')),
      observeMs: 50,
      pollMs: 10,
      retryMs: 60_000,
      alarms: {
        async firing() {
          calls++;
          throw new Error('alarms unavailable');
        },
      },
    });
    const op = await rig.runner.start('r3');
    await until(async () => calls > 0);
    // Asking again drives it again (it was not dropped), and the operation is still the one running.
    expect((await rig.runner.start('r3')).id).toBe(op.id);
    await rig.runner.stop();
    rig.runner = undefined;
    expect((await rig.operations.get(op.id))?.status).toBe('running');
  });
});

// An upgrade plans its waves, and each tenant's release to restore on a rollback, by tenant id. A tenant
// offboarded while its wave was watched, and its id onboarded again (another customer), was given on the
// rollback the release its predecessor had been pinned to.
describe('an upgrade rolled back after a tenant id of its wave was offboarded and onboarded again', () => {
  it("does not give the new tenant its predecessor's release", async () => {
    const deps = rig.deps;
    const id = randomTenantId('roll') as TenantId;
    const { tenant } = await createTenant(deps, { id, name: 'Before', placement: 'dedicated' });
    await rig.platform.directory.update(
      { ...tenant, release: 'r-old', version: tenant.version + 1 },
      tenant.version,
    );
    publishRelease(rig.dir, 'r4', { models: { finance: { version: '1.4.0', body: "version: '1.4.0'" } } });
    let calls = 0;
    let after: string | undefined;
    rig.runner = createRolloutRunner({
      ...deps,
      operations: rig.operations,
      catalog: openEmbeddedReleaseCatalog(join(rig.dir, 'releases')),
      observeMs: 60_000,
      pollMs: 10,
      alarms: {
        async firing() {
          // The baseline, then the wave is watched: meanwhile the id changes hands, then an alarm fires.
          if (++calls === 1) return [];
          if (after === undefined) {
            await rig.platform.directory.delete(id);
            after = (await createTenant(deps, { id, name: 'After', placement: 'dedicated' })).tenant
              .incarnation;
          }
          return [{ tenantId: id, name: 'errors', reason: 'the wave failed' }];
        },
      },
    });
    const op = await rig.runner.start('r4');
    await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
    const now = await rig.platform.directory.get(id);
    expect(now?.incarnation).toBe(after);
    expect(now?.release).toBeUndefined();
  });
});
