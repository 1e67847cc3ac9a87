import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedicatedBucketName, tenantStackName } from '../../src/adapters/aws/naming.ts';
import { createStackInfrastructure } from '../../src/adapters/aws/stack-infrastructure.ts';
import { createAwsStoreProvider } from '../../src/adapters/aws/stores.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { StoppedError, type TenantInfrastructure } from '../../src/ports/tenant-infrastructure.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import type { CloudFormationEmulator } from '../support/cloudformation-emulator.ts';
import { newTenantId } from '../support/server.ts';
import { startTenantStacks } from '../support/tenant-stacks.ts';

// The CloudFormation side of dedicated placement, call by call: it resumes instead of creating twice,
// updates only when the tenant's settings changed, and empties the bucket before deleting the stack.
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
let aws: AwsEmulators;
let cfn: CloudFormationEmulator;
let client: CloudFormationClient;
let infra: TenantInfrastructure;
let stores: ReturnType<typeof createAwsStoreProvider>;
let templateUrl: string;
let releases: string;

beforeAll(async () => {
  aws = await startAwsEmulators();
  // Each stack operation starts 300 ms after its call: long enough to stop a waiter in the middle.
  ({ cfn, templateUrl, releases } = await startTenantStacks(aws, {
    account: ACCOUNT,
    region: REGION,
    delayMs: 300,
  }));
  client = new CloudFormationClient({
    endpoint: cfn.endpoint,
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const [table, bucket] = await Promise.all([aws.createTable('jobs'), aws.createBucket('silopool')]);
  stores = createAwsStoreProvider({
    dynamo: aws.dynamo,
    s3: aws.s3,
    sharedTable: table,
    sharedBucket: bucket,
    account: ACCOUNT,
    region: REGION,
    provisioning: 'stack',
  });
  infra = stackInfrastructure();
}, 60_000);
afterAll(async () => {
  client?.destroy();
  await cfn?.close();
  await aws?.stop();
});

function tenant(id: string, fn: Tenant['config']['function'] = {}): Tenant {
  return { id: parseTenantId(id), config: { ...emptyConfig(), function: fn } } as Tenant;
}

const calls = (action: string, id: string) =>
  cfn.calls.filter((c) => c.action === action && c.stackName?.startsWith(tenantStackName(parseTenantId(id))))
    .length;

/** The stack infrastructure on the emulators, with `options` over the defaults of this file. */
function stackInfrastructure(
  options: Partial<Parameters<typeof createStackInfrastructure>[0]> = {},
): TenantInfrastructure {
  return createStackInfrastructure({
    client,
    templateUrl,
    code: { bucket: releases, key: 'model.zip' },
    account: ACCOUNT,
    region: REGION,
    stores,
    pollMs: 25,
    ...options,
  });
}

describe('createStackInfrastructure', () => {
  it('a deploy stopped while the stack is being created resumes it, without a second CreateStack', async () => {
    const id = newTenantId('res');
    const stop = new AbortController();
    const progress: string[] = [];
    const first = infra.deploy(tenant(id), {
      signal: stop.signal,
      report: async (d) => {
        progress.push(d);
      },
    });
    setTimeout(() => stop.abort(), 100);
    await expect(first).rejects.toBeInstanceOf(StoppedError);
    expect(cfn.stack(tenantStackName(parseTenantId(id)))?.status).toMatch(
      /CREATE_IN_PROGRESS|CREATE_COMPLETE/,
    );
    expect(await infra.deploy(tenant(id))).toMatch(/CREATE_COMPLETE/);
    expect(calls('CreateStack', id)).toBe(1);
    expect(progress[0]).toMatch(/creating stack/);
  }, 30_000);

  it('updates the stack only when the tenant’s function settings changed', async () => {
    const id = newTenantId('upd');
    await infra.deploy(tenant(id));
    await infra.deploy(tenant(id));
    expect(calls('UpdateStack', id)).toBe(0);
    expect(await infra.deploy(tenant(id, { reservedConcurrency: 7, timeoutSec: 120 }))).toMatch(
      /UPDATE_COMPLETE/,
    );
    const stack = cfn.stack(tenantStackName(parseTenantId(id)));
    expect(stack?.parameters.ReservedConcurrency).toBe('7');
    expect(stack?.parameters.QueueVisibilityTimeoutSec).toBe('720');
    expect(calls('UpdateStack', id)).toBe(1);
  }, 30_000);

  it('a stack whose update rolled back (UPDATE_ROLLBACK_COMPLETE) still serves and takes the next update', async () => {
    const id = newTenantId('rbk');
    await infra.deploy(tenant(id));
    const name = tenantStackName(parseTenantId(id));
    const bucketId = Object.keys(cfn.stack(name)?.resources ?? {}).find((logicalId) =>
      logicalId.startsWith('Bucket8'),
    );
    cfn.failNext(name, bucketId ?? 'Bucket', 'Rate exceeded');
    await expect(infra.deploy(tenant(id, { memoryMb: 1536 }))).rejects.toMatchObject({
      name: 'StackFailedError',
      status: 'UPDATE_ROLLBACK_COMPLETE',
    });
    expect(cfn.stack(name)?.parameters.MemoryMb).toBe('512');
    // At its previous settings the rolled-back stack serves as asked; with new ones it is updated.
    expect(await infra.deploy(tenant(id))).toMatch(/UPDATE_ROLLBACK_COMPLETE/);
    expect(await infra.deploy(tenant(id, { memoryMb: 1536 }))).toMatch(/UPDATE_COMPLETE/);
    expect(cfn.stack(name)?.parameters.MemoryMb).toBe('1536');
  }, 30_000);

  it('checks the account’s quotas before creating a stack or raising its reservation, and names the one short', async () => {
    let reading = { unreservedConcurrency: 103, stacks: 10, stackLimit: 2000 };
    const checked = stackInfrastructure({ quotas: { read: async () => reading }, functionsPerStack: 2 });
    const id = newTenantId('quota');
    // 2 functions × 2 reserved would leave 99 unreserved: Lambda keeps 100.
    await expect(checked.deploy(tenant(id))).rejects.toThrow(/leave 99 unreserved/);
    expect(calls('CreateStack', id)).toBe(0);
    reading = { unreservedConcurrency: 104, stacks: 2000, stackLimit: 2000 };
    await expect(checked.deploy(tenant(id))).rejects.toThrow(/2000 of its 2000 CloudFormation stacks/);
    reading = { unreservedConcurrency: 104, stacks: 10, stackLimit: 2000 };
    expect(await checked.deploy(tenant(id))).toMatch(/CREATE_COMPLETE/);
    // Raising the reservation from 2 to 3 per function needs 2 more executions than the account has left.
    reading = { unreservedConcurrency: 101, stacks: 11, stackLimit: 2000 };
    await expect(checked.deploy(tenant(id, { reservedConcurrency: 3 }))).rejects.toThrow(
      /leave 99 unreserved/,
    );
    expect(calls('UpdateStack', id)).toBe(0);
    // Lowering it needs nothing.
    expect(await checked.deploy(tenant(id, { reservedConcurrency: 2, memoryMb: 1024 }))).toMatch(
      /UPDATE_COMPLETE/,
    );
  }, 30_000);

  it('leaves the tenant dashboard out above the configured number of tenant stacks, and keeps a stack’s choice', async () => {
    const withDashboards = (dashboards: 'on' | 'off' | { upTo: number }) =>
      stackInfrastructure({ dashboards });
    const dashboardOf = (id: string) => {
      const stack = cfn.stack(tenantStackName(parseTenantId(id)));
      const resources = Object.values(stack?.resources ?? {});
      return {
        parameter: stack?.parameters.TenantDashboard,
        created: resources.some((r) => r.type === 'AWS::CloudWatch::Dashboard'),
      };
    };
    // Every stack this file made so far counts: one more than that is still under the limit.
    const existing = cfn.calls.filter((c) => c.action === 'CreateStack').length;
    const small = newTenantId('dash');
    await withDashboards({ upTo: existing + 100 }).deploy(tenant(small));
    expect(dashboardOf(small)).toEqual({ parameter: 'true', created: true });
    const large = newTenantId('dash');
    await withDashboards({ upTo: 1 }).deploy(tenant(large));
    expect(dashboardOf(large)).toEqual({ parameter: 'false', created: false });
    // A settings update keeps the choice made at creation, whatever the setting now says.
    await withDashboards('on').deploy(tenant(large, { memoryMb: 1024 }));
    expect(dashboardOf(large)).toEqual({ parameter: 'false', created: false });
  }, 30_000);

  it('empties the tenant’s bucket before deleting its stack; removing again is a no-op', async () => {
    const id = newTenantId('del');
    await infra.deploy(tenant(id));
    const own = tenantDataAt(stores, { kind: 'dedicated', tenantId: parseTenantId(id) }, parseTenantId(id));
    for (let i = 0; i < 3; i++)
      await own.objects.put(`jobs/j${i}/out.xlsx`, new Uint8Array([i]), 'application/zip');
    expect(await infra.remove(parseTenantId(id))).toMatch(/deleted stack/);
    expect(cfn.stack(tenantStackName(parseTenantId(id)))).toBeUndefined();
    expect(await infra.remove(parseTenantId(id))).toMatch(/no stack/);
    expect(dedicatedBucketName(parseTenantId(id), ACCOUNT, REGION)).toContain(id);
  }, 30_000);
});
