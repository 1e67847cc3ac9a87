import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRolloutRunner } from '../../src/control/release-rollout.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import type { ReleaseCatalog } from '../../src/models/release-catalog.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { publishRelease, rolloutPlatform, rolloutRunner, until } from './fixtures.ts';

const rig = rolloutPlatform('silopool-rollout-abort-');

async function dedicatedTenants(n: number): Promise<TenantId[]> {
  const deps = rig.deps;
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
    ...rig.deps,
    operations: rig.operations,
    catalog: options.catalog ?? openEmbeddedReleaseCatalog(join(rig.dir, 'releases')),
    observeMs: options.observeMs,
    pollMs: 10,
    retryMs: 10,
    ...(options.maxFailures !== undefined ? { maxFailures: options.maxFailures } : {}),
    ...(options.alarms ? { alarms: { firing: options.alarms } } : {}),
  });
}

const ended = (id: string) => async () => (await rig.operations.get(id))?.status !== 'running';

// An upgrade had no abort: an operator who saw it go wrong could only wait for its health checks.
describe('aborting an upgrade', () => {
  it('rolls the wave being watched back, ends it failed with code aborted, and does not make the release current', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(rig.dir, 'r5', { models: { finance: { version: '1.5.0', body: "version: '1.5.0'" } } });
    rig.runner = rollouts({ observeMs: 60_000 });
    const op = await rig.runner.start('r5');
    await until(async () => (await rig.platform.directory.get(tenant!))?.release === 'r5');
    const asked = await rig.runner.abort(op.id, 'the canary looks wrong');
    expect(asked.params.abort).toBe('the canary looks wrong');
    await until(ended(op.id));
    const after = await rig.operations.get(op.id);
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('aborted');
    expect(after?.error?.message).toContain('the canary looks wrong');
    expect(after?.error?.message).toContain('Wave 1 was rolled back');
    expect((await rig.platform.directory.get(tenant!))?.release).toBeUndefined();
    expect(await openEmbeddedReleaseCatalog(join(rig.dir, 'releases')).current()).toBe('builtin');
    // Ended: nothing to abort. Not an upgrade: 404.
    await expect(rig.runner.abort(op.id)).rejects.toMatchObject({ status: 409, code: 'rollout_ended' });
    await expect(rig.runner.abort('op_nosuch')).rejects.toMatchObject({ status: 404 });
    // The next upgrade is not refused.
    const next = await rig.runner.start('r5', { observeMs: 0 });
    await until(ended(next.id));
    expect((await rig.operations.get(next.id))?.status).toBe('succeeded');
  });

  it('asked once every wave is done and the release is being made current is refused (409), not answered 202 and then ignored', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(rig.dir, 'r7', { models: { finance: { version: '1.7.0', body: "version: '1.7.0'" } } });
    const catalog = openEmbeddedReleaseCatalog(join(rig.dir, 'releases'));
    let asked: Promise<unknown> | undefined;
    rig.runner = createRolloutRunner({
      ...rig.deps,
      operations: rig.operations,
      // The operator's abort arrives as the driver makes the release current.
      catalog: {
        ...catalog,
        setCurrent: async (release: string) => {
          const running = (await rig.operations.listRunning()).find((o) => o.kind === 'rollout');
          asked = rig.runner!.abort(running!.id).then(
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
    const op = await rig.runner.start('r7');
    await until(ended(op.id));
    const after = await rig.operations.get(op.id);
    // What the operator was told matches what happened: the upgrade succeeded, so the abort was refused.
    expect(after?.status).toBe('succeeded');
    expect(await catalog.current()).toBe('r7');
    expect((await rig.platform.directory.get(tenant!))?.release).toBe('r7');
    expect(await asked).toMatchObject({ status: 409, code: 'rollout_ended' });
  });

  it('recorded where no driver runs (the API on Lambda) is carried out by the one that resumes it', async () => {
    await dedicatedTenants(1);
    publishRelease(rig.dir, 'r6', { models: { finance: { version: '1.6.0', body: "version: '1.6.0'" } } });
    const api = rolloutRunner(rig, {
      drive: 'elsewhere',
    });
    const op = await api.start('r6');
    await api.abort(op.id);
    expect((await rig.operations.get(op.id))?.status).toBe('running');
    rig.runner = rollouts({ observeMs: 60_000 });
    await rig.runner.resume();
    await until(ended(op.id));
    expect((await rig.operations.get(op.id))?.error?.code).toBe('aborted');
  });
});

// An upgrade whose driver failed for good (the releases folder gone, so the release can never be made
// current) was driven again every minute forever, and every later upgrade was refused (409).
describe('an upgrade whose failure is permanent', () => {
  it('stops, failed with code rollout_failed, and says why', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(rig.dir, 'r7', { models: { finance: { version: '1.7.0', body: "version: '1.7.0'" } } });
    const catalog = openEmbeddedReleaseCatalog(join(rig.dir, 'releases'));
    rig.runner = rollouts({
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
    const op = await rig.runner.start('r7');
    await until(ended(op.id));
    const after = await rig.operations.get(op.id);
    expect(after?.status).toBe('failed');
    expect(after?.error?.code).toBe('rollout_failed');
    expect(after?.error?.message).toMatch(/^The upgrade cannot go on: ENOENT/);
    expect(after?.error?.message).toContain('1 wave before it stay on r7');
    // Its waves were healthy and done: they keep the release.
    expect((await rig.platform.directory.get(tenant!))?.release).toBe('r7');
  });

  // Removed, the folder takes the release with it: a release withdrawn is neither deployed on nor kept.
  it('stops when the releases folder is removed, and leaves no tenant on the release it took away', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(rig.dir, 'r9', { models: { finance: { version: '1.9.0', body: "version: '1.9.0'" } } });
    rig.runner = rollouts({ observeMs: 200 });
    const op = await rig.runner.start('r9');
    rmSync(join(rig.dir, 'releases'), { recursive: true, force: true });
    await until(ended(op.id));
    const after = await rig.operations.get(op.id);
    expect(after?.error?.code).toBe('rollout_failed');
    expect(after?.error?.message).toMatch(/^The upgrade cannot go on: not_found: Release "r9", withdrawn/);
    expect((await rig.platform.directory.get(tenant!))?.release).toBeUndefined();
  });

  it('stops after failing maxFailures times in a row, even where each failure looks passing', async () => {
    const [tenant] = await dedicatedTenants(1);
    publishRelease(rig.dir, 'r8', { models: { finance: { version: '1.8.0', body: "version: '1.8.0'" } } });
    let calls = 0;
    rig.runner = rollouts({
      observeMs: 60_000,
      maxFailures: 3,
      alarms: async () => {
        // The baseline reads them first; every read after the wave is deployed fails.
        if (++calls === 1) return [] as never;
        throw new Error('CloudWatch unavailable');
      },
    });
    const op = await rig.runner.start('r8');
    await until(ended(op.id));
    const after = await rig.operations.get(op.id);
    expect(after?.error?.code).toBe('rollout_failed');
    expect(after?.error?.message).toContain('failed 3 times in a row; the last: CloudWatch unavailable');
    expect(after?.error?.message).toContain('Wave 1 was rolled back');
    expect((await rig.platform.directory.get(tenant!))?.release).toBeUndefined();
  });
});
