import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantStackName } from '../../src/adapters/aws/naming.ts';
import { createStackInfrastructure } from '../../src/adapters/aws/stack-infrastructure.ts';
import { createAwsStoreProvider } from '../../src/adapters/aws/stores.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import { StoppedError, type TenantInfrastructure } from '../../src/ports/tenant-infrastructure.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import type { CloudFormationEmulator } from '../support/cloudformation-emulator.ts';
import { newTenantId } from '../support/server.ts';
import { startTenantStacks } from '../support/tenant-stacks.ts';

// The CloudFormation side of dedicated placement where moto cannot go (test/support/cloudformation-emulator.ts):
// a deploy stopped mid-operation resumes instead of creating twice, a rolled-back update still serves, and
// quotas are checked before CloudFormation is called. Creating, updating only on changed settings, dashboards
// and deleting are tested on moto (aws-stack-infrastructure-moto.test.ts).
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
  it('counts tenant stacks (for the dashboard choice) with ListStacks, never a DescribeStacks without a name', async () => {
    const id = newTenantId('cnt');
    const before = cfn.calls.length;
    await infra.deploy(tenant(id));
    const made = cfn.calls.slice(before);
    expect(made.some((c) => c.action === 'ListStacks')).toBe(true);
    // The control role may describe `silopool-tenant-*` stacks only; a nameless DescribeStacks asks for all.
    expect(made.filter((c) => c.action === 'DescribeStacks' && !c.stackName)).toEqual([]);
  }, 30_000);
});
