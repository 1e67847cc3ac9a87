import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { changeOperation } from '../../src/control/operations.ts';
import { NAMED_TENANTS } from '../../src/control/rollout-evidence.ts';
import { createTenant } from '../../src/control/tenants.ts';
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

describe('an upgrade of many idle tenants', () => {
  it('names at most a few tenants in each step and note; its params keep them all', async () => {
    const n = 2 * NAMED_TENANTS + 3;
    const ids: TenantId[] = [];
    for (let k = 0; k < n; k++) {
      const id = `many-${String(k).padStart(2, '0')}-${Math.random().toString(36).slice(2, 8)}` as TenantId;
      await createTenant(rig.deps, { id, name: `M${k}`, placement: 'dedicated' });
      ids.push(id);
    }
    release('r24');
    rig.runner = rolloutRunner(rig, { observeMs: 5, maxObserveMs: 5, pollMs: 5, retryMs: 10 });
    const op = await rig.runner.start('r24');
    await until(ended(op.id), 60_000);
    const done = (await rig.operations.get(op.id))!;
    expect(done.status).toBe('succeeded');
    // Every wave unobserved: each next one a canary of one, whose note named every tenant unobserved before;
    // the notes grew with the square of the fleet. Each list names at most NAMED_TENANTS and counts the rest
    // (a done wave's detail is its verdict and its canary note: two lists).
    const texts = [...done.steps.map((s) => s.detail ?? ''), ...Object.values(done.params)].filter(
      (t) => !t.startsWith('[') && !t.startsWith('{'),
    );
    for (const text of texts) {
      const named = ids.filter((id) => text.includes(id)).length;
      expect(named, text).toBeLessThanOrEqual(2 * NAMED_TENANTS);
    }
    expect(done.steps.at(-1)?.detail).toMatch(/unobserved while watched: .* and 13 more$/);
    expect(done.steps.at(-1)?.detail).toContain(ids[0]);
    const unobserved = done.steps.flatMap((_, i) =>
      JSON.parse(done.params[`wave${i}.unobserved`] ?? '[]'),
    ) as string[];
    expect(unobserved.sort()).toEqual([...ids].sort());
  });

  it('refuses a maxObserveSec below the watch itself rather than raising it quietly', async () => {
    release('r25');
    rig.runner = rolloutRunner(rig, { observeMs: 60_000 });
    await expect(rig.runner.start('r25', { maxObserveMs: 1_000 })).rejects.toMatchObject({
      code: 'validation_failed',
      status: 400,
      problems: [
        { path: '/maxObserveSec', message: expect.stringContaining('observeSec (60 s, the default)') },
      ],
    });
    await expect(rig.runner.start('r25', { observeMs: 10_000, maxObserveMs: 9_000 })).rejects.toMatchObject({
      problems: [{ path: '/maxObserveSec' }],
    });
    expect(await rig.operations.listByTenant('_platform' as TenantId)).toEqual([]);
  });
});

describe('an upgrade whose recorded rule is damaged (changed outside Silopool)', () => {
  // Read as NaN, `minJobs` judged every tenant observed and the wave healthy; a damaged `maxObserveMs` or
  // wave start never let the watch end, the driver polling every millisecond. Resumed, it stops naming it.
  it.each([
    ['minJobs', 'many'],
    ['maxObserveMs', ''],
    ['wave0.start', 'yesterday'],
  ])('params.%s = %j: the driver stops, the record named as damaged', async (param, value) => {
    const [a] = (await dedicatedTenants(rig, 'dmg', 1)) as [TenantId];
    release('r26');
    rig.runner = rolloutRunner(rig, { observeMs: 60_000, pollMs: 10, retryMs: 10 });
    const op = await rig.runner.start('r26');
    await until(async () => (await step(op.id, 0)())?.detail?.startsWith('watching') === true);
    await rig.runner.stop();
    await changeOperation(rig.operations, op.id, (o) => ({ ...o, params: { ...o.params, [param]: value } }));
    rig.runner = rolloutRunner(rig, { observeMs: 60_000, pollMs: 10, retryMs: 10 });
    await rig.runner.resume();
    await until(ended(op.id), 10_000);
    const done = (await rig.operations.get(op.id))!;
    expect(done.status).toBe('failed');
    expect(done.error?.message).toContain(`params.${param} is ${JSON.stringify(value)}`);
    expect((await rig.platform.directory.get(a))?.release).not.toBe('r26');
  });
});
