import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsMessageQueue } from '../../src/adapters/aws/message-queue.ts';
import { createDynamoOperationStore } from '../../src/adapters/aws/operation-store.ts';
import { createDynamoTenantDirectory } from '../../src/adapters/aws/tenant-directory.ts';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { laneInfrastructure, laneQueues } from '../../src/control/lanes.ts';
import { createMoveRunner, type MoveRunner } from '../../src/control/placement-move.ts';
import { type ControlDeps, createTenant, onboardTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import type { RegionPolicy } from '../../src/core/region.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { OperationStore } from '../../src/ports/operation-store.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import type { TenantInfrastructure } from '../../src/ports/tenant-infrastructure.ts';
import { makeTenant } from '../contract/fixtures.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { newTenantId } from '../support/server.ts';
import { until } from './helpers.ts';

/**
 * Onboarding a dedicated tenant whose resources take minutes (a stack on AWS) creates it shared and
 * promotes it. A crash between writing the tenant and starting its promotion left it shared for good: no
 * operation existed to resume, and a tenant whose contract region requires dedicated placement had every
 * submit refused (409 region_requires_dedicated). The crash is the process dying right after the tenant's
 * write committed (the directory's `create` resolves no further); a new runner on the same stores then
 * resumes what was recorded, as a restarted server (or the AWS control function) does.
 */
const REGIONS: RegionPolicy = { region: 'us-east-1', dedicatedRegions: ['us-east-1', 'eu-west-1'] };
/** Nothing more runs in a killed process: what it awaits never resolves. */
const killed = () => new Promise<never>(() => undefined);

/** The directory of a process killed as soon as a tenant's creation has committed. */
function dyingAfterCreate(directory: TenantDirectory): TenantDirectory {
  return {
    ...directory,
    async create(tenant) {
      await directory.create(tenant);
      return killed();
    },
  };
}

/** Local lanes, as slow as a stack: onboarding takes the create-shared-then-promote way. */
const slow = (lanes: TenantInfrastructure): TenantInfrastructure => ({ ...lanes, speed: 'slow' });

/** Onboards `id` in a process killed right after the tenant's write; resolves once that write is in. */
async function onboardAndDie(deps: ControlDeps, moves: MoveRunner, id: string) {
  void onboardTenant(
    { ...deps, directory: dyingAfterCreate(deps.directory) },
    { id, name: 'Residency Co', placement: 'dedicated', region: 'eu-west-1', plan: 'enterprise' },
    { onboardMoving: (tenantId, create) => moves.onboard(tenantId, create) },
  );
  await until('the tenant written', async () => deps.directory.get(parseTenantId(id)));
}

describe('a crash while onboarding a dedicated tenant with a contract region', () => {
  it('embedded: a restart resumes its promotion, and it ends dedicated, not stuck shared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-onboard-crash-'));
    const platform = openEmbeddedPlatform(dir);
    const operations = createSqliteOperationStore(platform.db);
    const infrastructure = slow(laneInfrastructure(platform));
    const deps = { ...platform, operations, regions: REGIONS, infrastructure, graceMs: 0, pollMs: 20 };
    // The process that dies: it records, and never drives (it is gone before it could).
    const dying = createMoveRunner({ ...deps, drive: 'elsewhere' });
    const restarted = createMoveRunner(deps);
    try {
      const id = parseTenantId(newTenantId('onb'));
      await onboardAndDie(deps, dying, id);

      expect(await restarted.resume()).toBe(1);
      await restarted.idle();
      const tenant = await platform.directory.get(id);
      expect(tenant).toMatchObject({ placement: 'dedicated', region: 'eu-west-1' });
      expect(tenant?.move).toBeUndefined();
      const [op] = await operations.listByTenant(id);
      expect(op).toMatchObject({ kind: 'move', status: 'succeeded', params: { to: 'dedicated' } });
    } finally {
      await Promise.all([dying.stop(), restarted.stop()]);
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('embedded: killed after its operation was written but before the tenant, it ends failed and leaves nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-onboard-crash-'));
    const platform = openEmbeddedPlatform(dir);
    const operations = createSqliteOperationStore(platform.db);
    const infrastructure = slow(laneInfrastructure(platform));
    const deps = { ...platform, operations, regions: REGIONS, infrastructure, onboardingGraceMs: 300 };
    const dying = createMoveRunner({ ...deps, drive: 'elsewhere' });
    const restarted = createMoveRunner(deps);
    try {
      const input = { name: 'Residency Co', placement: 'dedicated', region: 'eu-west-1' } as const;
      // Refused (here: a tenant of that id exists), the operation ends at once and nothing changes.
      const taken = parseTenantId(newTenantId('onb'));
      await platform.directory.create(makeTenant(taken));
      const refusal = await onboardTenant(
        deps,
        { id: taken, ...input },
        {
          onboardMoving: (tenantId, create) => dying.onboard(tenantId, create),
        },
      ).catch((e: unknown) => e);
      expect(refusal).toMatchObject({ status: 409 });
      expect(await operations.listByTenant(taken)).toMatchObject([
        { status: 'failed', error: { code: 'onboarding_refused' } },
      ]);

      // Killed between the two writes: the operation runs on, with no tenant.
      const id = parseTenantId(newTenantId('onb'));
      void onboardTenant(
        deps,
        { id, ...input },
        {
          onboardMoving: (tenantId) => dying.onboard(tenantId, () => killed()),
        },
      );
      await until('the operation written', async () => (await operations.listByTenant(id))[0]);
      // The same for an id already taken, killed before its refusal was recorded: the existing shared
      // tenant is not this onboarding's, and must not be promoted by it.
      const existing = parseTenantId(newTenantId('onb'));
      await platform.directory.create(makeTenant(existing));
      void onboardTenant(
        deps,
        { id: existing, ...input },
        {
          onboardMoving: (tenantId) => dying.onboard(tenantId, () => killed()),
        },
      );
      await until('the operation written', async () => (await operations.listByTenant(existing))[0]);

      expect(await restarted.resume()).toBe(2);
      await restarted.idle();
      const [op] = await operations.listByTenant(id);
      expect(op).toMatchObject({ status: 'failed', error: { code: 'onboarding_stopped' } });
      expect(await platform.directory.get(id)).toBeUndefined();
      const [other] = await operations.listByTenant(existing);
      expect(other).toMatchObject({ status: 'failed', error: { code: 'superseded' } });
      const kept = await platform.directory.get(existing);
      expect(kept?.placement).toBe('shared');
      expect(kept?.move).toBeUndefined();
    } finally {
      await Promise.all([dying.stop(), restarted.stop()]);
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a crash while onboarding, on the AWS stores (DynamoDB emulator)', () => {
  let aws: AwsEmulators;
  let directory: TenantDirectory;
  let operations: OperationStore;
  beforeAll(async () => {
    aws = await startAwsEmulators();
    const table = await aws.createTable('control');
    directory = createDynamoTenantDirectory({ client: aws.dynamo, tableName: table });
    operations = createDynamoOperationStore({ client: aws.dynamo, tableName: table });
  }, 60_000);
  afterAll(() => aws?.stop());

  it('leaves a running promotion recorded on the tenant, which the control function resumes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-onboard-crash-'));
    const platform = openEmbeddedPlatform(dir);
    // The API on Lambda records moves and never drives them (`drive: elsewhere`).
    const deps = {
      ...platform,
      directory,
      operations,
      regions: REGIONS,
      infrastructure: slow(laneInfrastructure(platform)),
    };
    const api = createMoveRunner({ ...deps, drive: 'elsewhere' });
    try {
      const id = parseTenantId(newTenantId('onb'));
      await onboardAndDie(deps, api, id);
      // What the control function resumes: the running operations, each on a tenant that records it.
      const running = await until('the operation in the running index', async () =>
        (await operations.listRunning()).find((op) => op.tenantId === id),
      );
      expect(running).toMatchObject({ kind: 'move', params: { from: 'shared', to: 'dedicated' } });
      expect(await directory.get(id)).toMatchObject({
        placement: 'shared',
        region: 'eu-west-1',
        move: { operationId: running.id, to: 'dedicated', phase: 'provisioning' },
      });
    } finally {
      await api.stop();
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a dedicated onboarding killed between its lanes and its record: the control function removes its queues and store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-onboard-crash-'));
    const platform = openEmbeddedPlatform(dir);
    const queue = createSqsMessageQueue({ client: aws.sqs });
    // Lanes made here (the emulators' way), tenants and operations in the control table.
    const deps = { ...platform, queue, directory, operations, onboardingGraceMs: 500 };
    const api = createMoveRunner({ ...deps, drive: 'elsewhere' });
    const control = createMoveRunner(deps);
    try {
      const id = parseTenantId(newTenantId('onbd'));
      // The API process dies as its record is written: lanes made, record never in.
      void createTenant(
        { ...deps, directory: { ...directory, create: () => killed() } },
        { id, name: 'Cut Co', placement: 'dedicated' },
        undefined,
        undefined,
        api.onboardDedicated,
      );
      const dedicatedQueues = laneQueues(id, 'dedicated');
      await until('its lanes made', async () => {
        const names = await queue.listQueues(`tenant_${id}_`);
        return dedicatedQueues.every((q) => names.includes(q)) ? names : undefined;
      });
      const running = await until('the onboarding in the running index', async () =>
        (await operations.listRunning()).find((op) => op.tenantId === id),
      );
      expect(running).toMatchObject({ kind: 'onboard', status: 'running' });

      // The control function's next run settles it once its grace (a request's longest life) is over.
      expect(await control.resume()).toBeGreaterThanOrEqual(1);
      await control.settled(running.id);
      expect(await operations.get(running.id)).toMatchObject({
        status: 'failed',
        error: { code: 'onboarding_stopped' },
      });
      expect(await queue.listQueues(`tenant_${id}_`)).toEqual([]);
      expect(existsSync(join(dir, 'tenants', id))).toBe(false);
      expect(await directory.get(id)).toBeUndefined();

      // Onboarded again, by a request that ends, it is recorded and ends succeeded with its lanes in place.
      await createTenant(
        deps,
        { id, name: 'Cut Co', placement: 'dedicated' },
        undefined,
        undefined,
        api.onboardDedicated,
      );
      const ops = await operations.listByTenant(id);
      expect(ops.filter((op) => op.status === 'succeeded')).toMatchObject([{ kind: 'onboard' }]);
      expect((await queue.listQueues(`tenant_${id}_`)).length).toBeGreaterThanOrEqual(dedicatedQueues.length);
    } finally {
      await Promise.all([api.stop(), control.stop()]);
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
