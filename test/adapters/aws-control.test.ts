import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureLaneQueues } from '../../src/control/lanes.ts';
import { createMoveRunner } from '../../src/control/placement-move.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { laneForPlacement } from '../../src/core/placement.ts';
import { type AwsControl, createAwsControl } from '../../src/entry/aws-control.ts';
import { type AwsPorts, createAwsPorts } from '../../src/entry/aws-wiring.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { newTenantId } from '../support/server.ts';

// The move runner on Lambda: the API only records a move; the control function (every minute, one at a
// time) resumes it, stops before its deadline, and the next run finishes it.
let aws: AwsEmulators;
let ports: AwsPorts;
let control: AwsControl;
beforeAll(async () => {
  aws = await startAwsEmulators();
  Object.assign(process.env, await aws.platformEnv());
  ports = createAwsPorts(process.env);
  control = createAwsControl(ports, process.env);
}, 60_000);
afterAll(async () => {
  control?.close();
  await ports?.close();
  await aws?.stop();
});

describe('the control function (src/entry/lambda-control.ts)', () => {
  it('drives a move the API only recorded, stops before its deadline and finishes on the next run', async () => {
    const id = parseTenantId(newTenantId('ctl'));
    await ensureLaneQueues(ports.queue, id, 'shared');
    await createTenant(control.deps, { id, name: 'Control' });
    const shared = tenantDataAt(ports.stores, { kind: 'shared' }, id);
    await shared.objects.put('jobs/j1/report.xlsx', new TextEncoder().encode('workbook'), 'application/zip');

    // The API on Lambda: it answers at once with the operation and drives nothing.
    const api = createMoveRunner({ ...control.deps, drive: 'elsewhere' });
    const op = await api.start(id, 'dedicated');
    expect(await api.resume()).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const recorded = await ports.operations.get(op.id);
    expect(recorded?.status).toBe('running');
    expect(recorded?.steps.every((s) => s.status === 'pending')).toBe(true);
    expect((await ports.directory.get(id))?.move?.to).toBe('dedicated');

    const { handler } = await import('../../src/entry/lambda-control.ts');
    // A run with 0.3 s left before its 60 s margin: it provisions, then stops mid-move.
    const first = await handler({}, { getRemainingTimeInMillis: () => 60_300 });
    expect(first.operations).toBe(1);
    const midway = await ports.operations.get(op.id);
    expect(midway?.status).toBe('running');
    expect(midway?.steps[0]?.status).toBe('done');
    expect(midway?.steps.at(-1)?.status).not.toBe('done');

    const second = await handler({}, { getRemainingTimeInMillis: () => 180_000 });
    expect(second.operations).toBe(1);
    const finished = await ports.operations.get(op.id);
    expect(finished?.status).toBe('succeeded');
    expect(finished?.steps.every((s) => s.status === 'done')).toBe(true);
    const tenant = await ports.directory.get(id);
    expect(tenant?.placement).toBe('dedicated');
    expect(tenant?.move).toBeUndefined();
    // The artifact moved to the tenant's own bucket, and nothing of it stayed in the shared one.
    const own = tenantDataAt(ports.stores, laneForPlacement(id, 'dedicated', '').store, id);
    expect(new TextDecoder().decode((await own.objects.get('jobs/j1/report.xlsx'))?.body)).toBe('workbook');
    expect((await shared.objects.list()).items).toEqual([]);

    // Nothing left to do: a run ends at once.
    const idle = await handler({}, { getRemainingTimeInMillis: () => 180_000 });
    expect(idle.operations).toBe(0);
  }, 60_000);

  it('runs the placement advisor: a tenant whose policy is auto and that requires isolation is promoted', async () => {
    // Read when the function starts: a fresh start with the setting.
    vi.resetModules();
    process.env.SILOPOOL_ADVISOR_EVERY_MIN = '1';
    const id = parseTenantId(newTenantId('auto'));
    await ensureLaneQueues(ports.queue, id, 'shared');
    await createTenant(control.deps, {
      id,
      name: 'Auto',
      config: { placementPolicy: { mode: 'auto', requiresIsolation: true } },
    });
    const { handler } = await import('../../src/entry/lambda-control.ts');
    const run = await handler({}, { getRemainingTimeInMillis: () => 180_000 });
    expect(run.autoMoves).toBe(1);
    const tenant = await ports.directory.get(id);
    expect(tenant?.placement).toBe('dedicated');
    const moves = await ports.operations.listByTenant(id);
    expect(moves.map((op) => [op.kind, op.status, op.params.to])).toEqual([
      ['move', 'succeeded', 'dedicated'],
    ]);
    // The cooldown comes from the stored operations, not from this instance's memory: no second move.
    const again = await handler({}, { getRemainingTimeInMillis: () => 180_000 });
    expect(again.autoMoves).toBe(0);
    delete process.env.SILOPOOL_ADVISOR_EVERY_MIN;
  }, 60_000);

  // Read in each run, a malformed advisor setting failed every run before it drove anything: no placement
  // move or upgrade went on, and the function itself started fine.
  it('refuses a malformed advisor setting at start, naming it, instead of failing every run', async () => {
    for (const [name, value] of [
      ['SILOPOOL_ADVISOR_EVERY_MIN', '0'],
      ['SILOPOOL_ADVISOR_EVERY_MIN', 'often'],
      ['SILOPOOL_ADVISOR_RESPECT_DAYS', 'a week'],
    ] as const) {
      vi.resetModules();
      process.env[name] = value;
      try {
        await expect(import('../../src/entry/lambda-control.ts'), `${name}=${value}`).rejects.toThrow(name);
      } finally {
        delete process.env[name];
      }
    }
  }, 60_000);
});
