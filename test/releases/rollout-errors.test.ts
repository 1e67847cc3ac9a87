import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { createRolloutRunner, type RolloutRunner } from '../../src/control/release-rollout.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import {
  type EmbeddedPlatform,
  openEmbeddedPlatform,
  openEmbeddedReleaseCatalog,
} from '../../src/entry/embedded-wiring.ts';
import type { OperationStore } from '../../src/ports/operation-store.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease } from './fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
let operations: OperationStore;
let runner: RolloutRunner | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-rollout-'));
  platform = openEmbeddedPlatform(dir);
  operations = createSqliteOperationStore(platform.db);
});
afterEach(async () => {
  await runner?.stop();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// An upgrade whose driver hit one error (a CloudWatch or store hiccup) was left `running` with nothing
// driving it: every later upgrade was refused (409 rollout_in_progress) until the server restarted, and
// starting the same release again answered the stuck operation without driving it.
describe('an upgrade whose driver hits an error', () => {
  it('is driven again and ends, without a restart', async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const id = randomTenantId('roll') as TenantId;
    await createTenant(deps, { id, name: 'R', placement: 'dedicated' });
    publishRelease(dir, 'r2', { models: { finance: { version: '1.2.0', body: "version: '1.2.0'" } } });
    let failures = 1;
    runner = createRolloutRunner({
      ...deps,
      operations,
      catalog: openEmbeddedReleaseCatalog(join(dir, 'releases')),
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
    const op = await runner.start('r2');
    await until(async () => (await operations.get(op.id))?.status !== 'running');
    expect((await operations.get(op.id))?.status).toBe('succeeded');
    expect((await platform.directory.get(id))?.release).toBe('r2');
  });

  it('keeps being driven while the error lasts, and a stop does not wait out its backoff', async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const id = randomTenantId('roll') as TenantId;
    await createTenant(deps, { id, name: 'R', placement: 'dedicated' });
    publishRelease(dir, 'r3', { models: { finance: { version: '1.3.0', body: "version: '1.3.0'" } } });
    let calls = 0;
    runner = createRolloutRunner({
      ...deps,
      operations,
      catalog: openEmbeddedReleaseCatalog(join(dir, 'releases')),
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
    const op = await runner.start('r3');
    await until(async () => calls > 0);
    // Asking again drives it again (it was not dropped), and the operation is still the one running.
    expect((await runner.start('r3')).id).toBe(op.id);
    await runner.stop();
    runner = undefined;
    expect((await operations.get(op.id))?.status).toBe('running');
  });
});

// An upgrade plans its waves, and each tenant's release to restore on a rollback, by tenant id. A tenant
// offboarded while its wave was watched, and its id onboarded again (another customer), was given on the
// rollback the release its predecessor had been pinned to.
describe('an upgrade rolled back after a tenant id of its wave was offboarded and onboarded again', () => {
  it("does not give the new tenant its predecessor's release", async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const id = randomTenantId('roll') as TenantId;
    const { tenant } = await createTenant(deps, { id, name: 'Before', placement: 'dedicated' });
    await platform.directory.update(
      { ...tenant, release: 'r-old', version: tenant.version + 1 },
      tenant.version,
    );
    publishRelease(dir, 'r4', { models: { finance: { version: '1.4.0', body: "version: '1.4.0'" } } });
    let calls = 0;
    let after: string | undefined;
    runner = createRolloutRunner({
      ...deps,
      operations,
      catalog: openEmbeddedReleaseCatalog(join(dir, 'releases')),
      observeMs: 60_000,
      pollMs: 10,
      alarms: {
        async firing() {
          // The baseline, then the wave is watched: meanwhile the id changes hands, then an alarm fires.
          if (++calls === 1) return [];
          if (after === undefined) {
            await platform.directory.delete(id);
            after = (await createTenant(deps, { id, name: 'After', placement: 'dedicated' })).tenant
              .incarnation;
          }
          return [{ tenantId: id, name: 'errors', reason: 'the wave failed' }];
        },
      },
    });
    const op = await runner.start('r4');
    await until(async () => (await operations.get(op.id))?.status !== 'running');
    const now = await platform.directory.get(id);
    expect(now?.incarnation).toBe(after);
    expect(now?.release).toBeUndefined();
  });
});
