import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { finishOperation, newOperation, setStep } from '../../src/control/operations.ts';
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

function runner(options: {
  drive?: 'elsewhere';
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
    ...(options.alarms ? { alarms: { firing: options.alarms } } : {}),
  });
  runners.push(r);
  return r;
}

// Two processes may drive one upgrade: the API function with SILOPOOL_MOVE_RUNNER=here beside the control
// function, a server on the AWS backend beside a deployed one. Each wrote its ending over the other's: one
// rolled an unhealthy wave back and ended the upgrade failed, the other (which read that wave healthy) went
// on to deploy the next wave to an upgrade that had ended, made the release current and wrote `succeeded`.
describe('an upgrade driven by two processes', () => {
  it('ends once: the one that halts it wins, the other deploys nothing more and writes no second ending', async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const ids = ['a', 'b'].map((s) => randomTenantId(`two${s}`) as TenantId).sort();
    for (const id of ids) await createTenant(deps, { id, name: 'T', placement: 'dedicated' });
    publishRelease(dir, 'r5', { models: { finance: { version: '1.5.0', body: "version: '1.5.0'" } } });
    const op = await runner({ drive: 'elsewhere' }).start('r5', { observeMs: 1500 });
    let reads = 0;
    // This process sees the canary's alarm start firing (its first read is the baseline's).
    const halting = runner({
      alarms: async (tenants) =>
        ++reads === 1 ? [] : tenants.map((tenantId) => ({ tenantId, name: 'errors', reason: 'errors up' })),
    });
    // This one reads no alarm: the wave looks healthy to it.
    const other = runner({});
    await Promise.all([halting.resume(), other.resume()]);
    await Promise.all([halting.settled(op.id), other.settled(op.id)]);
    const after = await operations.get(op.id);
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('rolled_back');
    expect(after?.steps.map((s) => s.status)).toEqual(['failed', 'pending', 'pending']);
    for (const id of ids) expect((await platform.directory.get(id))?.release).toBeUndefined();
    expect(await openEmbeddedReleaseCatalog(join(dir, 'releases')).current()).toBe('builtin');
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
