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
import type { ReleaseCatalog } from '../../src/models/release-catalog.ts';
import type { OperationStore } from '../../src/ports/operation-store.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease } from './fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
let operations: OperationStore;
let runner: RolloutRunner | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-rollout-abort-'));
  platform = openEmbeddedPlatform(dir);
  operations = createSqliteOperationStore(platform.db);
});
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
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

async function dedicatedTenants(n: number): Promise<TenantId[]> {
  const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
  const ids: TenantId[] = [];
  for (let i = 0; i < n; i++) {
    const id = randomTenantId('roll') as TenantId;
    await createTenant(deps, { id, name: 'R', placement: 'dedicated' });
    ids.push(id);
  }
  return ids;
}

function rollouts(options: {
  observeMs: number;
  maxFailures?: number;
  alarms?: () => Promise<never>;
  catalog?: ReleaseCatalog;
}) {
  return createRolloutRunner({
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    operations,
    catalog: options.catalog ?? openEmbeddedReleaseCatalog(join(dir, 'releases')),
    observeMs: options.observeMs,
    pollMs: 10,
    retryMs: 10,
    ...(options.maxFailures !== undefined ? { maxFailures: options.maxFailures } : {}),
    ...(options.alarms ? { alarms: { firing: options.alarms } } : {}),
  });
}

const ended = (id: string) => async () => (await operations.get(id))?.status !== 'running';

// An upgrade had no abort: an operator who saw it go wrong could only wait for its health checks.
describe('aborting an upgrade', () => {
  it('rolls the wave being watched back, ends it failed with code aborted, and does not make the release current', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(dir, 'r5', { models: { finance: { version: '1.5.0', body: "version: '1.5.0'" } } });
    runner = rollouts({ observeMs: 60_000 });
    const op = await runner.start('r5');
    await until(async () => (await platform.directory.get(tenant!))?.release === 'r5');
    const asked = await runner.abort(op.id, 'the canary looks wrong');
    expect(asked.params.abort).toBe('the canary looks wrong');
    await until(ended(op.id));
    const after = await operations.get(op.id);
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('aborted');
    expect(after?.error?.message).toContain('the canary looks wrong');
    expect(after?.error?.message).toContain('Wave 1 was rolled back');
    expect((await platform.directory.get(tenant!))?.release).toBeUndefined();
    expect(await openEmbeddedReleaseCatalog(join(dir, 'releases')).current()).toBe('builtin');
    // Ended: nothing to abort. Not an upgrade: 404.
    await expect(runner.abort(op.id)).rejects.toMatchObject({ status: 409, code: 'rollout_ended' });
    await expect(runner.abort('op_nosuch')).rejects.toMatchObject({ status: 404 });
    // The next upgrade is not refused.
    const next = await runner.start('r5', { observeMs: 0 });
    await until(ended(next.id));
    expect((await operations.get(next.id))?.status).toBe('succeeded');
  });

  it('asked once every wave is done and the release is being made current is refused (409), not answered 202 and then ignored', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(dir, 'r7', { models: { finance: { version: '1.7.0', body: "version: '1.7.0'" } } });
    const catalog = openEmbeddedReleaseCatalog(join(dir, 'releases'));
    let asked: Promise<unknown> | undefined;
    runner = createRolloutRunner({
      directory: platform.directory,
      queue: platform.queue,
      stores: platform.stores,
      operations,
      // The operator's abort arrives as the driver makes the release current.
      catalog: {
        ...catalog,
        setCurrent: async (release: string) => {
          const running = (await operations.listRunning()).find((o) => o.kind === 'rollout');
          asked = runner!.abort(running!.id).then(
            (op) => op,
            (error: unknown) => error,
          );
          await asked;
          return catalog.setCurrent(release);
        },
      } as typeof catalog,
      observeMs: 0,
      pollMs: 10,
      retryMs: 10,
    });
    const op = await runner.start('r7');
    await until(ended(op.id));
    const after = await operations.get(op.id);
    // What the operator was told matches what happened: the upgrade succeeded, so the abort was refused.
    expect(after?.status).toBe('succeeded');
    expect(await catalog.current()).toBe('r7');
    expect((await platform.directory.get(tenant!))?.release).toBe('r7');
    expect(await asked).toMatchObject({ status: 409, code: 'rollout_ended' });
  });

  it('recorded where no driver runs (the API on Lambda) is carried out by the one that resumes it', async () => {
    await dedicatedTenants(1);
    publishRelease(dir, 'r6', { models: { finance: { version: '1.6.0', body: "version: '1.6.0'" } } });
    const api = createRolloutRunner({
      directory: platform.directory,
      queue: platform.queue,
      stores: platform.stores,
      operations,
      catalog: openEmbeddedReleaseCatalog(join(dir, 'releases')),
      drive: 'elsewhere',
    });
    const op = await api.start('r6');
    await api.abort(op.id);
    expect((await operations.get(op.id))?.status).toBe('running');
    runner = rollouts({ observeMs: 60_000 });
    await runner.resume();
    await until(ended(op.id));
    expect((await operations.get(op.id))?.error?.code).toBe('aborted');
  });
});

// An upgrade whose driver failed for good (the releases folder gone, so the release can never be made
// current) was driven again every minute forever, and every later upgrade was refused (409).
describe('an upgrade whose failure is permanent', () => {
  it('stops, failed with code rollout_failed, and says why', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(dir, 'r7', { models: { finance: { version: '1.7.0', body: "version: '1.7.0'" } } });
    const catalog = openEmbeddedReleaseCatalog(join(dir, 'releases'));
    runner = rollouts({
      observeMs: 200,
      // The releases folder's file system fails as the pointer is written (the last step).
      catalog: {
        ...catalog,
        setCurrent: async () => {
          throw Object.assign(new Error("ENOENT: no such file or directory, open 'releases/current.json'"), {
            code: 'ENOENT',
          });
        },
      },
    });
    const op = await runner.start('r7');
    await until(ended(op.id));
    const after = await operations.get(op.id);
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('rollout_failed');
    expect(after?.error?.message).toMatch(/^The upgrade cannot go on: ENOENT/);
    expect(after?.error?.message).toContain('1 wave before it stay on r7');
    // Its waves were healthy and done: they keep the release.
    expect((await platform.directory.get(tenant!))?.release).toBe('r7');
  });

  // Removed, the folder takes the release with it: a release withdrawn is neither deployed on nor kept.
  it('stops when the releases folder is removed, and leaves no tenant on the release it took away', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(dir, 'r9', { models: { finance: { version: '1.9.0', body: "version: '1.9.0'" } } });
    runner = rollouts({ observeMs: 200 });
    const op = await runner.start('r9');
    rmSync(join(dir, 'releases'), { recursive: true, force: true });
    await until(ended(op.id));
    const after = await operations.get(op.id);
    expect(after?.error?.code).toBe('rollout_failed');
    expect(after?.error?.message).toMatch(/^The upgrade cannot go on: not_found: Release "r9", withdrawn/);
    expect((await platform.directory.get(tenant!))?.release).toBeUndefined();
  });

  it('stops after failing maxFailures times in a row, even where each failure looks passing', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(dir, 'r8', { models: { finance: { version: '1.8.0', body: "version: '1.8.0'" } } });
    let calls = 0;
    runner = rollouts({
      observeMs: 60_000,
      maxFailures: 3,
      alarms: async () => {
        // The baseline reads them first; every read after the wave is deployed fails.
        if (++calls === 1) return [] as never;
        throw new Error('CloudWatch unavailable');
      },
    });
    const op = await runner.start('r8');
    await until(ended(op.id));
    const after = await operations.get(op.id);
    expect(after?.error?.code).toBe('rollout_failed');
    expect(after?.error?.message).toContain('failed 3 times in a row; the last: CloudWatch unavailable');
    expect(after?.error?.message).toContain('Wave 1 was rolled back');
    expect((await platform.directory.get(tenant!))?.release).toBeUndefined();
  });
});
