import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finishOperation } from '../../src/control/operations.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import { selectModel } from '../../src/models/model-selection.ts';
import type { Operation } from '../../src/ports/operation-store.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import {
  beginMove,
  dedicatedTenants,
  publishRelease,
  rolloutPlatform,
  rolloutRunner,
  until,
} from './fixtures.ts';

// A tenant promoted (shared → dedicated) while an upgrade runs is in none of its waves, which were planned
// from the dedicated tenants at its start. It kept no release of its own and was deployed with the release
// current then: embedded it followed the pointer, on AWS its stack kept the old code after the upgrade.
const rig = rolloutPlatform('silopool-rollout-promoted-');

async function sharedTenant(): Promise<TenantId> {
  const id = randomTenantId('prom') as TenantId;
  await createTenant(rig.deps, { id, name: 'P', placement: 'shared' });
  return id;
}

/** The promotion's switch and end: the tenant dedicated, no `move`, its operation succeeded. */
async function endPromotion(id: TenantId, promotion: Operation): Promise<void> {
  const moving = (await rig.platform.directory.get(id))!;
  const { move: _move, ...rest } = moving;
  await rig.platform.directory.update(
    { ...rest, placement: 'dedicated', version: moving.version + 1 },
    moving.version,
  );
  await finishOperation(rig.operations, promotion.id, 'succeeded');
}

const lastStep = async (opId: string) => (await rig.operations.get(opId))?.steps.at(-1);

function release(id: string): void {
  publishRelease(rig.dir, id, { models: { finance: { version: '1.30.0', body: "version: '1.30.0'" } } });
}

describe('a tenant promoted while an upgrade runs', () => {
  it('ends on the upgrade release, and the last step says it was deployed there', async () => {
    const [a] = await dedicatedTenants(rig, 'wave', 1);
    const late = await sharedTenant();
    release('r30');
    rig.runner = rolloutRunner(rig, { observeMs: 300, minJobs: 0, pollMs: 10, retryMs: 10 });
    const op = await rig.runner.start('r30');
    expect(JSON.parse(op.params.waves!)).toEqual([[a]]);
    // Promoted while the canary is watched.
    await until(
      async () => (await rig.operations.get(op.id))?.steps[0]?.detail?.startsWith('watching') === true,
    );
    await endPromotion(late, await beginMove(rig, late, 'shared', 'dedicated'));
    await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
    expect((await rig.operations.get(op.id))?.status).toBe('succeeded');
    const tenant = (await rig.platform.directory.get(late))!;
    expect(tenant.release).toBe('r30');
    const catalog = openEmbeddedReleaseCatalog(join(rig.dir, 'releases'));
    expect((await selectModel(catalog, tenant, { model: 'finance' }, 'dedicated')).release).toBe('r30');
    expect((await lastStep(op.id))?.detail).toBe(
      `r30 is current; deployed to ${late} at the end (dedicated since their wave was planned, in none)`,
    );
  });

  it('still being promoted at the end: the upgrade waits for the move, then deploys to it', async () => {
    await dedicatedTenants(rig, 'wave', 1);
    const late = await sharedTenant();
    const promotion = await beginMove(rig, late, 'shared', 'dedicated');
    release('r31');
    rig.runner = rolloutRunner(rig, { observeMs: 50, minJobs: 0, pollMs: 10, retryMs: 10 });
    const op = await rig.runner.start('r31');
    await until(async () => (await lastStep(op.id))?.detail?.startsWith('waiting for the move') === true);
    expect((await lastStep(op.id))?.detail).toBe(
      `waiting for the move of ${late} to end before deploying r31 to it`,
    );
    expect((await rig.operations.get(op.id))?.status).toBe('running');
    await endPromotion(late, promotion);
    await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
    expect((await rig.operations.get(op.id))?.status).toBe('succeeded');
    expect((await rig.platform.directory.get(late))?.release).toBe('r31');
  });
});
