import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { finishOperation } from '../../src/control/operations.ts';
import { createRolloutRunner } from '../../src/control/release-rollout.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import type { Operation } from '../../src/ports/operation-store.ts';
import type { StoreProvider } from '../../src/ports/stores.ts';
import {
  beginMove,
  dedicatedTenants,
  publishRelease,
  rolloutPlatform,
  rolloutRunner,
  until,
} from './fixtures.ts';

// A dedicated tenant that leaves an upgrade while it runs (demoted, or offboarded) has its dedicated store
// removed. The upgrade still sampled its health there, at its wave's baseline or while its wave was watched:
// every sample failed (`store_not_found`, 503 embedded; ResourceNotFoundException on AWS, taken as permanent),
// so the upgrade was driven again until it gave up (`rollout_failed`), rolling back the wave in progress and
// never making the release current, for the other tenants too.

const rig = rolloutPlatform('silopool-rollout-left-');

/** Tenants whose dedicated store a test removed. */
const removed = new Set<string>();

/**
 * The stores as each backend answers for a dedicated store removed: embedded `StoreNotFoundError` (503, tried
 * again), AWS a DynamoDB `ResourceNotFoundException` (a client fault, taken as permanent). The AWS answer is
 * made here for the embedded stores, as the AWS store provider gives it for a deleted table.
 */
function storesAnswering(kind: 'embedded' | 'aws'): StoreProvider {
  if (kind === 'embedded') return rig.platform.stores;
  return {
    ...rig.platform.stores,
    jobs(ref) {
      if (ref.kind === 'dedicated' && removed.has(ref.tenantId))
        throw Object.assign(new Error('Requested resource not found'), {
          name: 'ResourceNotFoundException',
          $fault: 'client',
        });
      return rig.platform.stores.jobs(ref);
    },
  };
}
/** What a demotion leaves (move-tenant.ts `switchPlacement`, then `removeOld`): shared, no release, no store. */
async function demote(id: TenantId): Promise<void> {
  const tenant = (await rig.platform.directory.get(id))!;
  const { release: _release, ...rest } = tenant;
  await rig.platform.directory.update(
    { ...rest, placement: 'shared', version: tenant.version + 1, updatedAt: new Date().toISOString() },
    tenant.version,
  );
  await rig.platform.stores.destroy({ kind: 'dedicated', tenantId: id });
  removed.add(id);
}

/** What an offboarding leaves: no tenant record, no store. */
async function offboard(id: TenantId): Promise<void> {
  await rig.platform.directory.delete(id);
  await rig.platform.stores.destroy({ kind: 'dedicated', tenantId: id });
  removed.add(id);
}

/** `n` dedicated tenants, their ids sorted: the first is the canary (wave 1), the next two wave 2, … */
function dedicated(prefix: string, n: number): Promise<TenantId[]> {
  return dedicatedTenants(rig, prefix, n);
}

async function twoDedicated(prefix: string): Promise<[TenantId, TenantId]> {
  const [a, b] = await dedicated(prefix, 2);
  return [a!, b!];
}

/** The driver's errors (each one a failed try, driven again or ending the upgrade). */
const errors: string[] = [];

function rollout(
  stores: StoreProvider,
  leave: (calls: number, tenants: readonly TenantId[]) => Promise<void>,
) {
  let calls = 0;
  rig.runner = createRolloutRunner({
    ...rig.deps,
    stores,
    operations: rig.operations,
    catalog: openEmbeddedReleaseCatalog(join(rig.dir, 'releases')),
    observeMs: 200,
    pollMs: 10,
    retryMs: 10,
    maxFailures: 3,
    alarms: {
      // Called at each wave's baseline and at each look while a wave is watched: the moment to leave.
      async firing(tenants) {
        await leave(++calls, tenants);
        return [];
      },
    },
    log: (level, message, fields) => {
      if (level === 'error') errors.push(`${message}: ${String(fields.error ?? fields.message)}`);
    },
  });
  return rig.runner;
}

describe('an upgrade whose tenant leaves it while it runs', () => {
  beforeEach(() => {
    errors.length = 0;
    removed.clear();
  });
  for (const backend of ['embedded', 'aws'] as const) {
    for (const [how, leave] of [
      ['demoted', demote],
      ['offboarded', offboard],
    ] as const) {
      it(`goes on without a tenant ${how} before its wave (${backend} stores)`, async () => {
        const [a, b] = await twoDedicated(how.slice(0, 3));
        publishRelease(rig.dir, 'r7', {
          models: { finance: { version: '1.7.0', body: "version: '1.7.0'" } },
        });
        let left = false;
        const op = await rollout(storesAnswering(backend), async () => {
          // Wave 1 (the canary, a) is being watched: b leaves before its wave begins.
          if (!left) {
            left = true;
            await leave(b);
          }
        }).start('r7');
        expect(JSON.parse(op.params.waves as string)).toEqual([[a], [b]]);
        await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
        const ended = await rig.operations.get(op.id);
        expect(ended?.error).toBeUndefined();
        expect(ended?.status).toBe('succeeded');
        expect(errors).toEqual([]);
        expect((await rig.platform.directory.get(a))?.release).toBe('r7');
        expect((await rig.platform.directory.get(b))?.release).toBeUndefined();
      });

      it(`goes on without a tenant ${how} while its wave is watched (${backend} stores)`, async () => {
        const [a, b] = await twoDedicated(how.slice(0, 3));
        publishRelease(rig.dir, 'r8', {
          models: { finance: { version: '1.8.0', body: "version: '1.8.0'" } },
        });
        const op = await rollout(storesAnswering(backend), async (calls) => {
          // 1: wave 1's baseline; 2: its first look, once a is on r8.
          if (calls === 2) await leave(a);
        }).start('r8');
        await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
        const ended = await rig.operations.get(op.id);
        expect(ended?.error).toBeUndefined();
        expect(ended?.status).toBe('succeeded');
        expect(errors).toEqual([]);
        expect((await rig.platform.directory.get(a))?.release).toBeUndefined();
        expect((await rig.platform.directory.get(b))?.release).toBe('r8');
      });
    }
  }
});

// A wave's tenants that left the upgrade were skipped (not deployed to, not watched), and a wave left with
// nobody read "healthy": a canary demoted or offboarded before its wave, or while it was watched, left the
// next, larger wave to go out with no tenant of the upgrade watched on the release before it.
describe('an upgrade whose canary leaves it', () => {
  for (const [how, leave] of [
    ['demoted', demote],
    ['offboarded', offboard],
  ] as const) {
    it(`${how} before its wave, takes the next tenant as its canary`, async () => {
      const [a, b, c] = await dedicated(how.slice(0, 3), 3);
      publishRelease(rig.dir, 'r12', {
        models: { finance: { version: '1.12.0', body: "version: '1.12.0'" } },
      });
      // Planned (the API on Lambda records it), then the canary leaves before a driver reaches its wave.
      const planned = await rolloutRunner(rig, {
        drive: 'elsewhere',
      }).start('r12', { observeMs: 200 });
      expect(JSON.parse(planned.params.waves as string)).toEqual([[a], [b, c]]);
      await leave(a!);
      const watched: (readonly TenantId[])[] = [];
      await rollout(rig.platform.stores, async (_calls, tenants) => {
        watched.push([...tenants]);
      }).resume();
      await until(async () => (await rig.operations.get(planned.id))?.status !== 'running');
      const ended = (await rig.operations.get(planned.id))!;
      expect(ended.status).toBe('succeeded');
      expect(JSON.parse(ended.params.waves as string)).toEqual([[b], [c]]);
      expect(ended.steps.map((step) => step.name)).toEqual([
        'wave 1 (canary): 1 tenant',
        'wave 2: 1 tenant',
        'make the release current for shared tenants',
      ]);
      expect(ended.steps[0]?.detail).toContain(`${b} is the canary: ${a} left the upgrade`);
      // b alone was watched on r12 before c was deployed to.
      const looks = watched.map((tenants) => tenants.join(', '));
      expect(new Set(looks)).toEqual(new Set([b, c]));
      expect(looks.lastIndexOf(b!)).toBeLessThan(looks.indexOf(c!));
      expect((await rig.platform.directory.get(b!))?.release).toBe('r12');
      expect((await rig.platform.directory.get(c!))?.release).toBe('r12');
    });

    it(`${how} while its wave is watched, takes the next tenant as its canary`, async () => {
      const [a, b, c] = await dedicated(how.slice(0, 3), 3);
      publishRelease(rig.dir, 'r13', {
        models: { finance: { version: '1.13.0', body: "version: '1.13.0'" } },
      });
      const watched: (readonly TenantId[])[] = [];
      const op = await rollout(rig.platform.stores, async (calls, tenants) => {
        watched.push([...tenants]);
        // 1: wave 1's baseline; 2: its first look, once a is on r13.
        if (calls === 2) await leave(a!);
      }).start('r13');
      await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
      const ended = (await rig.operations.get(op.id))!;
      expect(ended.status).toBe('succeeded');
      expect(JSON.parse(ended.params.waves as string)).toEqual([[a], [b], [c]]);
      expect(ended.steps.map((step) => step.name)).toEqual([
        'wave 1 (canary): 1 tenant',
        'wave 2 (canary): 1 tenant',
        'wave 3: 1 tenant',
        'make the release current for shared tenants',
      ]);
      expect(watched.every((tenants) => tenants.length === 1)).toBe(true);
      expect((await rig.platform.directory.get(c!))?.release).toBe('r13');
    });
  }
});

/** A demotion of `id` under way (its operation running, `move` on the tenant), as move-tenant.ts begins one. */
function beginDemotion(id: TenantId): Promise<Operation> {
  return beginMove(rig, id, 'dedicated', 'shared');
}

/** The demotion rolled back: the tenant stays dedicated, no `move`, its operation failed. */
async function rollBackDemotion(id: TenantId, demotion: Operation): Promise<void> {
  const moving = (await rig.platform.directory.get(id))!;
  const { move: _move, ...rest } = moving;
  await rig.platform.directory.update({ ...rest, version: moving.version + 1 }, moving.version);
  await finishOperation(rig.operations, demotion.id, 'failed', {
    code: 'move_failed',
    message: 'rolled back',
  });
}

// A wave's tenant that was being moved (a demotion under way) was skipped: nothing deployed, its wave
// "healthy" with nobody on the release. Were it the canary, the next, larger wave went out with no canary
// watched; and a demotion that then rolled back left it dedicated on the old release after the upgrade
// succeeded, with nothing saying so.
describe('an upgrade whose tenant is being moved when its wave comes', () => {
  it('deploys to it once its move has ended, and watches it', async () => {
    const [a, b] = await twoDedicated('mov');
    const demotion = await beginDemotion(a);
    publishRelease(rig.dir, 'r10', { models: { finance: { version: '1.10.0', body: "version: '1.10.0'" } } });
    // No job runs here: evidence is not what this test is about (rollout-evidence.test.ts).
    rig.runner = rolloutRunner(rig, {
      minJobs: 0,
      observeMs: 100,
      pollMs: 10,
      retryMs: 10,
    });
    const op = await rig.runner.start('r10');
    // The demotion rolls back a moment later: the canary stays dedicated.
    await new Promise((r) => setTimeout(r, 150));
    await rollBackDemotion(a, demotion);
    await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
    const ended = await rig.operations.get(op.id);
    expect(ended?.status).toBe('succeeded');
    // Deployed to and watched: the canary's wave is of one tenant on the release.
    expect((await rig.platform.directory.get(a))?.release).toBe('r10');
    expect((await rig.platform.directory.get(b))?.release).toBe('r10');
    expect(ended?.steps[0]?.detail).toBe('1 tenant on r10, healthy');
  });
});

// The same skip on the way back: a wave rolled back (unhealthy, aborted) while one of its tenants was being
// demoted left that tenant out, and a demotion that then rolled back kept it dedicated on the release the
// upgrade had just taken back from every other tenant.
describe('a wave rolled back while one of its tenants is being moved', () => {
  for (const stopFirst of [false, true])
    it(
      stopFirst
        ? 'waits for the move unless the runner stops'
        : 'rolls that tenant back too, once its move has ended',
      async () => {
        const [a] = await twoDedicated('rbk');
        publishRelease(rig.dir, 'r11', {
          models: { finance: { version: '1.11.0', body: "version: '1.11.0'" } },
        });
        let demotion: Operation | undefined;
        let calls = 0;
        rig.runner = rolloutRunner(rig, {
          observeMs: 60_000,
          pollMs: 10,
          retryMs: 10,
          alarms: {
            async firing() {
              // 1: the canary's baseline; 2: its first look, on r11: a demotion of it begins, and an alarm fires.
              if (++calls !== 2) return [];
              demotion = await beginDemotion(a);
              return [{ tenantId: a, name: 'errors', reason: 'the wave failed' }];
            },
          },
        });
        const op = await rig.runner.start('r11');
        await until(async () => calls >= 2);
        if (stopFirst) {
          // A runner stopping while the rollback waits: the upgrade stays running, for the next driver to end.
          await until(async () =>
            /waiting for the move/.test((await rig.operations.get(op.id))?.steps[0]?.detail ?? ''),
          );
          await rig.runner.stop();
          rig.runner = undefined;
          expect((await rig.operations.get(op.id))?.status).toBe('running');
          return;
        }
        // The demotion rolls back a moment later: the tenant stays dedicated.
        await new Promise((r) => setTimeout(r, 150));
        await rollBackDemotion(a, demotion!);
        await until(async () => (await rig.operations.get(op.id))?.status !== 'running');
        const ended = await rig.operations.get(op.id);
        expect(ended?.error?.code).toBe('rolled_back');
        expect((await rig.platform.directory.get(a))?.placement).toBe('dedicated');
        expect((await rig.platform.directory.get(a))?.release).toBeUndefined();
      },
    );
});
