import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { finishOperation, newOperation, setOperationParams, setStep } from '../../src/control/operations.ts';
import { createRolloutRunner, type RolloutRunner } from '../../src/control/release-rollout.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import {
  type EmbeddedPlatform,
  openEmbeddedPlatform,
  openEmbeddedReleaseCatalog,
} from '../../src/entry/embedded-wiring.ts';
import type { OperationStore } from '../../src/ports/operation-store.ts';
import type { FiringAlarm } from '../../src/ports/release-alarms.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease } from './fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
let operations: OperationStore;
const runners: RolloutRunner[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-rollout-drivers-'));
  platform = openEmbeddedPlatform(dir);
  operations = createSqliteOperationStore(platform.db);
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
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

function runner(options: {
  drive?: 'elsewhere';
  leaseMs?: number;
  alarms?: (tenants: readonly TenantId[]) => Promise<FiringAlarm[]>;
}) {
  const r = createRolloutRunner({
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    operations,
    catalog: openEmbeddedReleaseCatalog(join(dir, 'releases')),
    pollMs: 10,
    retryMs: 10,
    ...(options.drive ? { drive: options.drive } : {}),
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.alarms ? { alarms: { firing: options.alarms } } : {}),
  });
  runners.push(r);
  return r;
}

// Two processes may be told to drive upgrades: the API function with SILOPOOL_MOVE_RUNNER=here beside the
// control function, a server on the AWS backend beside a deployed one. Both drove the same waves at once
// (each deployed, watched and read alarms; one rolled a wave back while the other deployed the next).
describe('an upgrade driven by two processes', () => {
  it('is driven by one of them only (a lease in its record): the other deploys and reads nothing', async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const ids = ['a', 'b'].map((s) => randomTenantId(`two${s}`) as TenantId).sort();
    for (const id of ids) await createTenant(deps, { id, name: 'T', placement: 'dedicated' });
    publishRelease(dir, 'r5', { models: { finance: { version: '1.5.0', body: "version: '1.5.0'" } } });
    const op = await runner({ drive: 'elsewhere' }).start('r5', { observeMs: 800 });
    const reads = [0, 0];
    // Each process sees the canary's alarm start firing (its first read is the baseline's).
    const drivers = [0, 1].map((n) =>
      runner({
        alarms: async (tenants) =>
          ++reads[n]! === 1
            ? []
            : tenants.map((tenantId) => ({ tenantId, name: 'errors', reason: 'errors up' })),
      }),
    );
    await Promise.all(drivers.map((d) => d.resume()));
    await until(async () => (await operations.get(op.id))?.status !== 'running');
    const after = await operations.get(op.id);
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('rolled_back');
    expect(after?.steps.map((s) => s.status)).toEqual(['failed', 'pending', 'pending']);
    // One process drove it; the other never read the wave's alarms.
    expect(reads.filter((n) => n > 0)).toHaveLength(1);
    for (const id of ids) expect((await platform.directory.get(id))?.release).toBeUndefined();
    expect(await openEmbeddedReleaseCatalog(join(dir, 'releases')).current()).toBe('builtin');
  });

  it('is taken over from a driver that stopped renewing its hold once that runs out, not before', async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const id = randomTenantId('lease') as TenantId;
    await createTenant(deps, { id, name: 'T', placement: 'dedicated' });
    publishRelease(dir, 'r6', { models: { finance: { version: '1.6.0', body: "version: '1.6.0'" } } });
    const op = await runner({ drive: 'elsewhere' }).start('r6', { observeMs: 0 });
    // A process that took the upgrade and died: its hold runs 700 ms more.
    const until700 = Date.now() + 700;
    await setOperationParams(operations, op.id, {
      driver: 'gone:1:dead',
      driverUntil: new Date(until700).toISOString(),
    });
    await runner({ leaseMs: 300 }).resume();
    await new Promise((r) => setTimeout(r, 300));
    expect((await platform.directory.get(id))?.release).toBeUndefined();
    expect((await operations.get(op.id))?.steps[0]?.status).toBe('pending');
    await until(async () => (await operations.get(op.id))?.status !== 'running');
    const after = await operations.get(op.id);
    expect(after?.status).toBe('succeeded');
    expect(after?.params.driver).not.toBe('gone:1:dead');
    expect(Date.parse(after?.updatedAt ?? '')).toBeGreaterThanOrEqual(until700);
    expect((await platform.directory.get(id))?.release).toBe('r6');
  });
});

describe('an ended operation', () => {
  it('keeps its ending and its steps: a later finish or step change by another writer changes nothing', async () => {
    const op = newOperation('move', 'tenant-x' as TenantId, ['one', 'two'], {});
    await operations.create(op);
    await setStep(operations, op.id, 0, 'failed', 'broke');
    const failed = await finishOperation(operations, op.id, 'failed', { code: 'x', message: 'broke' });
    expect(await finishOperation(operations, op.id, 'succeeded')).toEqual(failed);
    expect(await setStep(operations, op.id, 0, 'done', 'fine')).toEqual(failed);
    expect(await operations.get(op.id)).toEqual(failed);
  });
});
