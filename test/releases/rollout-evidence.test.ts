import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TenantId } from '../../src/core/ids.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import { selectModel } from '../../src/models/model-selection.ts';
import { listModels } from '../../src/models/registry.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob } from '../contract/fixtures.ts';
import { dedicatedTenants, publishRelease, rolloutPlatform, rolloutRunner, until } from './fixtures.ts';

// A wave watched while its tenants ran no job on the release (idle, or pinned to versions another release
// carries) read "healthy": the canary's "evidence" was nothing, and the next, larger wave went out on it.
const rig = rolloutPlatform('silopool-rollout-evidence-');

/** A finance job of `tenantId` that ended now, on the code `selectModel` picks for it (as its handler does). */
async function runJob(tenantId: TenantId): Promise<string> {
  const tenant = (await rig.platform.directory.get(tenantId))!;
  const catalog = openEmbeddedReleaseCatalog(join(rig.dir, 'releases'));
  const selected = await selectModel(catalog, tenant, { model: 'finance' }, 'dedicated');
  const now = new Date().toISOString();
  const store = tenantDataAt(rig.platform.stores, { kind: 'dedicated', tenantId }, tenantId).jobs;
  await store.create(
    makeJob(tenantId, {
      status: 'succeeded',
      attempts: 1,
      modelVersion: selected.version,
      release: selected.release,
      startedAt: now,
      finishedAt: now,
    }),
  );
  return selected.release;
}

const step = (opId: string, i: number) => async () => (await rig.operations.get(opId))?.steps[i];
const waves = async (opId: string) =>
  JSON.parse((await rig.operations.get(opId))!.params.waves!) as string[][];
const ended = (opId: string) => async () => (await rig.operations.get(opId))?.status !== 'running';

function release(id: string): void {
  publishRelease(rig.dir, id, { models: { finance: { version: '1.20.0', body: "version: '1.20.0'" } } });
}

describe('a wave whose tenants run no job on the release', () => {
  it('is unobserved, not healthy, and the next wave is a canary of one again', async () => {
    const [a, b, c] = await dedicatedTenants(rig, 'idle', 3);
    release('r20');
    rig.runner = rolloutRunner(rig, { observeMs: 50, maxObserveMs: 200, pollMs: 10, retryMs: 10 });
    const op = await rig.runner.start('r20');
    expect(await waves(op.id)).toEqual([[a], [b, c]]);
    await until(ended(op.id));
    const done = (await rig.operations.get(op.id))!;
    expect(done.status).toBe('succeeded');
    expect(done.steps[0]?.detail).toMatch(
      /^1 tenant on r20, unobserved \(fewer than 1 job on r20 in \d+ s\): /,
    );
    expect(done.steps[0]?.detail).not.toContain('healthy');
    expect(done.params['wave0.unobserved']).toBe(JSON.stringify([a]));
    // Never a wave of two on no evidence: each wave is one tenant while none was observed.
    expect(await waves(op.id)).toEqual([[a], [b], [c]]);
    expect(done.steps[1]?.detail).toContain('no tenant of the waves before ran a job on the release');
    expect(done.steps.at(-1)?.detail).toBe(`r20 is current; unobserved while watched: ${a}, ${b}, ${c}`);
  });

  it('is watched past observeMs until the tenant runs a job on the release, then healthy', async () => {
    const [a, b] = (await dedicatedTenants(rig, 'late', 2)) as [TenantId, TenantId];
    release('r21');
    rig.runner = rolloutRunner(rig, { observeMs: 50, maxObserveMs: 60_000, pollMs: 10, retryMs: 10 });
    const op = await rig.runner.start('r21');
    await until(async () => (await step(op.id, 0)())?.detail?.startsWith('waiting for evidence') === true);
    expect((await step(op.id, 0)())?.detail).toContain(`${a} ran fewer than 1 job on r21`);
    expect(await runJob(a)).toBe('r21');
    await until(async () => (await step(op.id, 0)())?.status === 'done');
    expect((await step(op.id, 0)())?.detail).toBe('1 tenant on r21, healthy');
    await until(async () => (await step(op.id, 1)())?.detail?.startsWith('waiting for evidence') === true);
    await runJob(b);
    await until(ended(op.id));
    const done = (await rig.operations.get(op.id))!;
    expect(done.status).toBe('succeeded');
    expect(done.steps.at(-1)?.detail).toBe('r21 is current');
  });

  it('counts no job of a canary pinned to versions another release carries', async () => {
    const [a] = (await dedicatedTenants(rig, 'pin', 1)) as [TenantId];
    const tenant = (await rig.platform.directory.get(a))!;
    const pins = Object.fromEntries(listModels().map((m) => [m.name, m.version]));
    await rig.platform.directory.update({ ...tenant, pins, version: tenant.version + 1 }, tenant.version);
    release('r22');
    rig.runner = rolloutRunner(rig, { observeMs: 50, maxObserveMs: 400, pollMs: 10, retryMs: 10 });
    const op = await rig.runner.start('r22');
    await until(async () => (await step(op.id, 0)())?.detail?.startsWith('waiting for evidence') === true);
    // Its jobs run: on the built-in code its pins name, not on r22.
    expect(await runJob(a)).not.toBe('r22');
    await until(ended(op.id));
    const done = (await rig.operations.get(op.id))!;
    expect(done.steps[0]?.detail).toContain(`unobserved (fewer than 1 job on r22`);
    expect(done.params['wave0.unobserved']).toBe(JSON.stringify([a]));
  });

  it('needs no evidence when the operator asks for none (minJobs 0)', async () => {
    const [a, b, c] = await dedicatedTenants(rig, 'none', 3);
    release('r23');
    rig.runner = rolloutRunner(rig, { observeMs: 20, minJobs: 0, pollMs: 10, retryMs: 10 });
    const op = await rig.runner.start('r23');
    await until(ended(op.id));
    expect(await waves(op.id)).toEqual([[a], [b, c]]);
    expect((await step(op.id, 0)())?.detail).toBe('1 tenant on r23, healthy');
  });
});
