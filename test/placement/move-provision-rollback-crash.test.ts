import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { laneInfrastructure } from '../../src/control/lanes.ts';
import { createMoveRunner, type MoveRunner } from '../../src/control/placement-move.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { OperationStore } from '../../src/ports/operation-store.ts';
import type { TenantInfrastructure } from '../../src/ports/tenant-infrastructure.ts';
import { newTenantId } from '../support/server.ts';
import { until } from './helpers.ts';

let dir: string;
let platform: EmbeddedPlatform;
const runners: MoveRunner[] = [];
/** Lets a "dead" process's hung call go on at the end, so its runner can be stopped. */
const revive: (() => void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-move-rollback-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  for (const go of revive.splice(0)) go();
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

function runner(infrastructure: TenantInfrastructure, operations?: OperationStore): MoveRunner {
  const r = createMoveRunner({
    ...platform,
    operations: operations ?? createSqliteOperationStore(platform.db),
    infrastructure,
    leaseMs: 300,
    graceMs: 10,
    pollMs: 10,
    retryMs: 20,
  });
  runners.push(r);
  return r;
}

// A promotion whose provisioning failed cleared the tenant's move, then removed the half-made resources,
// then recorded the failure: a process that died in between left the operation `running` with no trace of
// the failure, and the next driver recorded the move on the tenant again and promoted it as if nothing
// had failed.
describe('a promotion whose driver dies while rolling back a failed provisioning', () => {
  it('is finished by the next driver: ended provisioning_failed with the first cause, the tenant left shared', async () => {
    const id = parseTenantId(newTenantId('mvrb'));
    await createTenant(platform, { id, name: 'Rollback' });
    const lanes = laneInfrastructure(platform);
    let removing = false;
    // Once dead, the process writes nothing more: nor its hold on the move, which runs out.
    const store = createSqliteOperationStore(platform.db);
    let revived = false;
    revive.push(() => {
      revived = true;
    });
    const dead = <T>(call: () => Promise<T>): Promise<T> =>
      removing && !revived ? new Promise<T>((resolve) => revive.push(() => resolve(call()))) : call();
    const dying = runner(
      {
        speed: 'immediate',
        deploy: async () => {
          throw new Error('the stack could not be created: quota exceeded');
        },
        // The rollback's removal never returns: the process is gone from here on.
        remove: () => {
          removing = true;
          return new Promise<string>((resolve) => revive.push(() => resolve('')));
        },
      },
      {
        ...store,
        get: (id) => dead(() => store.get(id)),
        update: (op, v) => dead(() => store.update(op, v)),
      },
    );
    const op = await dying.start(id, 'dedicated');
    await until('the rollback to begin', async () => removing);
    const operations = createSqliteOperationStore(platform.db);
    expect((await operations.get(op.id))?.status).toBe('running');
    // The next process can provision (the quota was raised meanwhile): nothing it sees would fail the move.
    const next = runner(lanes);
    await next.resume();
    await until('the move to end', async () => (await operations.get(op.id))?.status !== 'running');
    const after = await operations.get(op.id);
    expect(after?.status).toBe('failed');
    expect(after?.error).toEqual({
      code: 'provisioning_failed',
      message: 'Rolled back: the stack could not be created: quota exceeded',
    });
    const tenant = await platform.directory.get(id);
    expect(tenant?.placement).toBe('shared');
    expect(tenant?.move).toBeUndefined();
  });
});
