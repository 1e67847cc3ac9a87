import {
  type CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedicatedBucketName, dedicatedTableName, tenantStackName } from '../../src/adapters/aws/naming.ts';
import { createStackInfrastructure } from '../../src/adapters/aws/stack-infrastructure.ts';
import { createAwsStoreProvider } from '../../src/adapters/aws/stores.ts';
import { parseTenantId, type TenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import type { TenantInfrastructure } from '../../src/ports/tenant-infrastructure.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts';
import { newTenantId } from '../support/server.ts';
import { publishMotoTenantRelease } from '../support/tenant-stacks.ts';

// A dedicated tenant's stack on moto's CloudFormation, from the tenant template synthesized from infra/:
// moto really creates its key, table, bucket, role, queues, functions, event source mappings and dashboard
// (not its alarms: moto's CloudFormation skips AWS::CloudWatch::Alarm). The template as moto can take it
// (`motoTenantTemplate`): its key without Tags (moto 5.2, kms/models.py tag_resource: KeyError 'TagKey'),
// its event source mappings disabled.
// Rollbacks, stops mid-operation and quota checks are the in-process emulator's (aws-stack-infrastructure.test.ts).
const ACCOUNT = '123456789012'; // moto's account
const REGION = 'us-east-1';
let aws: AwsEmulators;
let cfn: CloudFormationClient;
let infra: TenantInfrastructure;
let stores: ReturnType<typeof createAwsStoreProvider>;
let base: Parameters<typeof createStackInfrastructure>[0];

function tenant(id: TenantId, fn: Tenant['config']['function'] = {}): Tenant {
  return { id, config: { ...emptyConfig(), function: fn } } as Tenant;
}

describe.skipIf(!motoAvailable())(
  `tenant stacks on moto's CloudFormation ${motoAvailable() ? '' : MOTO_MISSING}`,
  () => {
    beforeAll(async () => {
      aws = await startAwsEmulators({ backend: 'moto' });
      const release = await publishMotoTenantRelease(aws, REGION);
      cfn = release.cfn;
      stores = createAwsStoreProvider({
        dynamo: aws.dynamo,
        s3: aws.s3,
        sharedTable: await aws.createTable('jobs'),
        sharedBucket: await aws.createBucket('silopool'),
        account: ACCOUNT,
        region: REGION,
        provisioning: 'stack',
      });
      base = {
        client: cfn,
        templateUrl: release.templateUrl,
        code: release.code,
        account: ACCOUNT,
        region: REGION,
        stores,
        pollMs: 50,
      };
      infra = createStackInfrastructure(base);
    }, 120_000);
    afterAll(async () => {
      cfn?.destroy();
      await aws?.stop();
    });

    it('creates the stack, whose table, bucket and queues are where the runtime looks; updates it; deletes it', async () => {
      const id = parseTenantId(newTenantId('moto'));
      expect(await infra.deploy(tenant(id))).toMatch(/CREATE_COMPLETE/);
      await aws.dynamo.send(new DescribeTableCommand({ TableName: dedicatedTableName(id) }));
      const bucket = dedicatedBucketName(id, ACCOUNT, REGION);
      await aws.s3.send(new HeadBucketCommand({ Bucket: bucket }));
      const { QueueUrl } = await aws.sqs.send(new GetQueueUrlCommand({ QueueName: `tenant_${id}_finance` }));
      const attributes = await aws.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'] }),
      );
      expect(JSON.parse(attributes.Attributes?.RedrivePolicy ?? '{}').maxReceiveCount).toBe(5);
      expect(attributes.Attributes?.VisibilityTimeout).toBe(String(6 * 300));

      expect(await infra.deploy(tenant(id, { reservedConcurrency: 3, timeoutSec: 60 }))).toMatch(
        /UPDATE_COMPLETE/,
      );
      const [stack] =
        (await cfn.send(new DescribeStacksCommand({ StackName: tenantStackName(id) }))).Stacks ?? [];
      const parameter = (key: string) =>
        stack?.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue;
      expect([parameter('ReservedConcurrency'), parameter('QueueVisibilityTimeoutSec')]).toEqual([
        '3',
        '360',
      ]);

      const own = tenantDataAt(stores, { kind: 'dedicated', tenantId: id }, id);
      await own.objects.put('jobs/j1/out.xlsx', new Uint8Array([1]), 'application/zip');
      expect(await infra.remove(id)).toMatch(/deleted stack/);
      await expect(aws.s3.send(new HeadBucketCommand({ Bucket: bucket }))).rejects.toBeDefined();
      await expect(
        aws.dynamo.send(new DescribeTableCommand({ TableName: dedicatedTableName(id) })),
      ).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      expect(await infra.remove(id)).toMatch(/no stack/);
    }, 120_000);
    it("updates the stack only when the tenant's function settings changed", async () => {
      const id = parseTenantId(newTenantId('mupd'));
      await infra.deploy(tenant(id));
      expect(await infra.deploy(tenant(id))).toMatch(/CREATE_COMPLETE/);
      const [unchanged] =
        (await cfn.send(new DescribeStacksCommand({ StackName: tenantStackName(id) }))).Stacks ?? [];
      expect([unchanged?.StackStatus, unchanged?.LastUpdatedTime]).toEqual(['CREATE_COMPLETE', undefined]);
      expect(await infra.deploy(tenant(id, { reservedConcurrency: 7, timeoutSec: 120 }))).toMatch(
        /UPDATE_COMPLETE/,
      );
      const [updated] =
        (await cfn.send(new DescribeStacksCommand({ StackName: tenantStackName(id) }))).Stacks ?? [];
      const parameter = (key: string) =>
        updated?.Parameters?.find((p) => p.ParameterKey === key)?.ParameterValue;
      expect([parameter('ReservedConcurrency'), parameter('QueueVisibilityTimeoutSec')]).toEqual([
        '7',
        '720',
      ]);
    }, 120_000);

    it("leaves the tenant dashboard out above the configured number of tenant stacks, and keeps a stack's choice", async () => {
      const withDashboards = (dashboards: 'on' | 'off' | { upTo: number }) =>
        createStackInfrastructure({ ...base, dashboards });
      const dashboardOf = async (id: TenantId) => {
        const name = tenantStackName(id);
        const [stack] = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks ?? [];
        const resources = await cfn.send(new ListStackResourcesCommand({ StackName: name }));
        return {
          parameter: stack?.Parameters?.find((p) => p.ParameterKey === 'TenantDashboard')?.ParameterValue,
          created: (resources.StackResourceSummaries ?? []).some(
            (r) => r.ResourceType === 'AWS::CloudWatch::Dashboard',
          ),
        };
      };
      // Every tenant stack this file made so far counts: one more than that is still under the limit.
      const existing = ((await cfn.send(new DescribeStacksCommand({}))).Stacks ?? []).length;
      const small = parseTenantId(newTenantId('mdash'));
      await withDashboards({ upTo: existing + 100 }).deploy(tenant(small));
      expect(await dashboardOf(small)).toEqual({ parameter: 'true', created: true });
      const large = parseTenantId(newTenantId('mdash'));
      await withDashboards({ upTo: 1 }).deploy(tenant(large));
      expect(await dashboardOf(large)).toEqual({ parameter: 'false', created: false });
      // A settings update keeps the choice made at creation, whatever the setting now says.
      await withDashboards('on').deploy(tenant(large, { memoryMb: 1024 }));
      expect(await dashboardOf(large)).toEqual({ parameter: 'false', created: false });
    }, 120_000);
  },
);
