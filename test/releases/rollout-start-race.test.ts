import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newOperation } from '../../src/control/operations.ts';
import { createRolloutRunner, PLATFORM_OPERATIONS } from '../../src/control/release-rollout.ts';
import { CLAIM_CREATE_MS, claimRolloutSlot } from '../../src/control/rollout-slot.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import type { OperationStore } from '../../src/ports/operation-store.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease, rolloutPlatform } from './fixtures.ts';

const rig = rolloutPlatform('silopool-rollout-race-');

async function dedicatedTenants(n: number): Promise<void> {
  const deps = rig.deps;
  for (let i = 0; i < n; i++)
    await createTenant(deps, { id: randomTenantId('race') as TenantId, name: 'R', placement: 'dedicated' });
}

function rollouts(store: OperationStore) {
  return createRolloutRunner({
    ...rig.deps,
    operations: store,
    catalog: openEmbeddedReleaseCatalog(join(rig.dir, 'releases')),
    observeMs: 60_000,
    pollMs: 10,
    retryMs: 10,
  });
}

async function runningRollouts(): Promise<string[]> {
  return (await rig.operations.listRunning())
    .filter((o) => o.kind === 'rollout')
    .map((o) => o.params.release!);
}

async function publishAndMakeCurrent(): Promise<void> {
  for (const id of ['r4', 'r5', 'r6'])
    publishRelease(rig.dir, id, {
      models: { finance: { version: `1.${id[1]}.0`, body: `version: '1.${id[1]}.0'` } },
    });
  // A current.json to read makes each start wait for the file between its look for a running upgrade and its create.
  await openEmbeddedReleaseCatalog(join(rig.dir, 'releases')).setCurrent('r4');
}

// One upgrade runs at a time (409 rollout_in_progress): a start listed the running upgrades and created its
// own when it found none, so two starts at once both found none and both created one; two upgrades then
// drove different releases to the same tenants, each reading the other's deploys as its own.
describe('two upgrades started at once', () => {
  it('on the embedded server: one starts, the other is refused with 409 rollout_in_progress', async () => {
    await dedicatedTenants(2);
    await publishAndMakeCurrent();
    rig.runner = rollouts(rig.operations);
    const started = await Promise.allSettled([rig.runner.start('r5'), rig.runner.start('r6')]);
    expect(await runningRollouts()).toHaveLength(1);
    expect(started.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    const refused = started.find((s) => s.status === 'rejected');
    expect(refused?.reason).toMatchObject({ status: 409, code: 'rollout_in_progress' });
  });

  it('where the running upgrades are listed from a lagging index (DynamoDB): the second is refused', async () => {
    await dedicatedTenants(1);
    await publishAndMakeCurrent();
    // The operations-by-tenant index has not yet seen the first start when the second lists it.
    const lagging: OperationStore = { ...rig.operations, listByTenant: async () => [] };
    rig.runner = rollouts(lagging);
    const first = await rig.runner.start('r5');
    await expect(rig.runner.start('r6')).rejects.toMatchObject({ status: 409, code: 'rollout_in_progress' });
    expect(await runningRollouts()).toEqual(['r5']);
    // Ended, it holds nothing: the next upgrade starts.
    await rig.runner.abort(first.id);
    await rig.runner.settled(first.id);
    expect((await rig.operations.get(first.id))?.status).toBe('failed');
    const next = await rig.runner.start('r6');
    expect(next.params.release).toBe('r6');
    expect(await runningRollouts()).toEqual(['r6']);
  });

  it('a start that stopped between its claim and its create holds the slot for a minute, not for ever', async () => {
    const now = Date.now();
    await claimRolloutSlot(rig.operations, 'op_neverwritten', () => now);
    await expect(claimRolloutSlot(rig.operations, 'op_second', () => now + 1000)).rejects.toMatchObject({
      code: 'rollout_in_progress',
    });
    await claimRolloutSlot(rig.operations, 'op_second', () => now + CLAIM_CREATE_MS + 1);
    // The holder now exists and runs: it holds the slot however long it runs.
    const op = { ...newOperation('rollout', PLATFORM_OPERATIONS, ['w'], { release: 'r5' }), id: 'op_second' };
    await rig.operations.create(op);
    await expect(
      claimRolloutSlot(rig.operations, 'op_third', () => now + 10 * CLAIM_CREATE_MS),
    ).rejects.toMatchObject({ code: 'rollout_in_progress', message: expect.stringContaining('op_second') });
  });
});
