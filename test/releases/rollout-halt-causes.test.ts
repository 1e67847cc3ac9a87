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
import type { FiringAlarm } from '../../src/ports/release-alarms.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease } from './fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
let operations: OperationStore;
const runners: RolloutRunner[] = [];
/** Lets a "dead" process's hung call go on at the end, so its runner can be stopped. */
const revive: (() => void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-rollout-halt-'));
  platform = openEmbeddedPlatform(dir);
  operations = createSqliteOperationStore(platform.db);
});
afterEach(async () => {
  for (const go of revive.splice(0)) go();
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

const ended = (id: string) => async () => (await operations.get(id))?.status !== 'running';

async function dedicatedTenant(): Promise<TenantId> {
  const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
  const id = randomTenantId('halt') as TenantId;
  await createTenant(deps, { id, name: 'H', placement: 'dedicated' });
  return id;
}

/** An AWS request refused as the client's fault: a failure no retry mends. */
function accessDenied(): Error {
  return Object.assign(new Error('not allowed to read alarms'), {
    name: 'AccessDeniedException',
    $fault: 'client',
  });
}

function runner(options: {
  observeMs: number;
  leaseMs?: number;
  operations?: OperationStore;
  alarms?: (tenants: readonly TenantId[]) => Promise<FiringAlarm[]>;
  onReleaseChange?: () => Promise<void>;
}): RolloutRunner {
  const r = createRolloutRunner({
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    operations: options.operations ?? operations,
    catalog: openEmbeddedReleaseCatalog(join(dir, 'releases')),
    observeMs: options.observeMs,
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    pollMs: 10,
    retryMs: 10,
    ...(options.alarms ? { alarms: { firing: options.alarms } } : {}),
    ...(options.onReleaseChange ? { onReleaseChange: options.onReleaseChange } : {}),
  });
  runners.push(r);
  return r;
}

// An operator's abort answered 202 while the driver was rolling a wave back (for its own reason) was lost:
// the upgrade ended with the rollback's code and message only, as if nobody had asked.
describe("an operator's abort that arrives while a halted wave is rolled back", () => {
  it('ends the upgrade aborted, its message naming the abort and the unhealthy wave, and the wave rolled back', async () => {
    const tenant = await dedicatedTenant();
    publishRelease(dir, 'r5', { models: { finance: { version: '1.5.0', body: "version: '1.5.0'" } } });
    let reads = 0;
    let changes = 0;
    let asked: Promise<unknown> | undefined;
    let opId = '';
    const r: RolloutRunner = runner({
      observeMs: 60_000,
      // The baseline reads no alarm; the wave's first check finds one firing.
      alarms: async (tenants) =>
        ++reads === 1 ? [] : tenants.map((tenantId) => ({ tenantId, name: 'errors', reason: 'errors up' })),
      // The second release change is the rollback's: the operator aborts then.
      onReleaseChange: async () => {
        if (++changes === 2) {
          asked = r.abort(opId, 'the canary looks wrong').then(
            (op) => op,
            (error: unknown) => error,
          );
          await asked;
        }
      },
    });
    const op = await r.start('r5');
    opId = op.id;
    await until(ended(op.id));
    const after = await operations.get(op.id);
    // The abort was accepted (202), so it is what the upgrade ends with; the rollback happened as well.
    expect(await asked).toMatchObject({ id: op.id, status: 'running' });
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('aborted');
    expect(after?.error?.message).toContain('the canary looks wrong');
    expect(after?.error?.message).toContain('Wave 1 was found unhealthy');
    expect(after?.error?.message).toContain('alarm errors firing');
    expect(after?.error?.message).toContain('was rolled back to its previous release');
    expect(after?.steps[0]?.status).toBe('failed');
    expect((await platform.directory.get(tenant))?.release).toBeUndefined();
    expect(await openEmbeddedReleaseCatalog(join(dir, 'releases')).current()).toBe('builtin');
  });

  it('ends an upgrade halting for a permanent failure aborted too, its message naming both', async () => {
    const tenant = await dedicatedTenant();
    publishRelease(dir, 'r6', { models: { finance: { version: '1.6.0', body: "version: '1.6.0'" } } });
    let reads = 0;
    let changes = 0;
    let opId = '';
    const r: RolloutRunner = runner({
      observeMs: 60_000,
      alarms: async () => {
        if (++reads === 1) return [];
        throw accessDenied();
      },
      onReleaseChange: async () => {
        if (++changes === 2) await r.abort(opId, 'stop it now');
      },
    });
    const op = await r.start('r6');
    opId = op.id;
    await until(ended(op.id));
    const after = await operations.get(op.id);
    expect(after?.error?.code).toBe('aborted');
    expect(after?.error?.message).toContain('stop it now');
    expect(after?.error?.message).toContain('The upgrade cannot go on: AccessDeniedException');
    expect(after?.error?.message).toContain('Wave 1 was rolled back');
    expect((await platform.directory.get(tenant))?.release).toBeUndefined();
  });
});

// The halt of a permanent failure lived only in the driver's memory while it rolled the wave back: a process
// that died then left an upgrade `running` whose next driver deployed the wave again and went on (here it
// succeeded and made the release current) as if nothing had failed.
describe('an upgrade whose driver dies while rolling back after a permanent failure', () => {
  it('is finished by the next driver: the wave rolled back, ended rollout_failed with the first cause', async () => {
    const tenant = await dedicatedTenant();
    publishRelease(dir, 'r7', { models: { finance: { version: '1.7.0', body: "version: '1.7.0'" } } });
    let reads = 0;
    let changes = 0;
    let rollingBack = false;
    // Once dead, the process writes nothing more: nor its hold on the upgrade, which runs out.
    const store = operations;
    let revived = false;
    revive.push(() => {
      revived = true;
    });
    const dead = <T>(call: () => Promise<T>): Promise<T> =>
      rollingBack && !revived ? new Promise<T>((resolve) => revive.push(() => resolve(call()))) : call();
    const dying = runner({
      observeMs: 300,
      leaseMs: 300,
      operations: {
        ...store,
        get: (id) => dead(() => store.get(id)),
        update: (op, version) => dead(() => store.update(op, version)),
      },
      alarms: async () => {
        if (++reads === 1) return [];
        throw accessDenied();
      },
      // The rollback's release change never returns: the process is gone from here on.
      onReleaseChange: () => {
        if (++changes < 2) return Promise.resolve();
        rollingBack = true;
        return new Promise<void>((resolve) => revive.push(resolve));
      },
    });
    const op = await dying.start('r7');
    await until(async () => rollingBack);
    expect((await operations.get(op.id))?.status).toBe('running');
    // The next process: its alarms are readable and quiet, so nothing it sees now would halt the upgrade.
    const next = runner({ observeMs: 300, leaseMs: 300 });
    await next.resume();
    await until(ended(op.id));
    const after = await operations.get(op.id);
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('rollout_failed');
    expect(after?.error?.message).toMatch(/^The upgrade cannot go on: AccessDeniedException/);
    expect(after?.error?.message).toContain('Wave 1 was rolled back');
    expect(after?.steps.map((s) => s.status)).toEqual(['failed', 'pending']);
    expect((await platform.directory.get(tenant))?.release).toBeUndefined();
    expect(await openEmbeddedReleaseCatalog(join(dir, 'releases')).current()).toBe('builtin');
  });
});
