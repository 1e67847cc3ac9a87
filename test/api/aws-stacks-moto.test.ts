import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedicatedBucketName, dedicatedTableName, tenantStackName } from '../../src/adapters/aws/naming.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { startMove, waitForOperation } from '../placement/helpers.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { publishMotoTenantRelease, runFinanceJob } from '../support/tenant-stacks.ts';

// The server in `stack` mode with everything on one moto_server: SQS, DynamoDB, S3 and CloudFormation, which
// creates the tenant template synthesized from infra/ (as moto can: `motoTenantTemplate`, docs/aws.md
// "Emulators and linting"). Jobs run only if the stack's queues, table and
// bucket carry the names the runtime looks up. Rollback paths: test/api/aws-stacks.test.ts.
const ACCOUNT = '123456789012'; // moto's account, in its queue ARNs
const REGION = 'us-east-1';
let aws: AwsEmulators;
let cfn: CloudFormationClient;
let server: TestServer;

async function exists(check: () => Promise<unknown>): Promise<boolean> {
  return check().then(
    () => true,
    () => false,
  );
}

describe.skipIf(!motoAvailable())(
  `dedicated tenants as stacks on moto ${motoAvailable() ? '' : MOTO_MISSING}`,
  () => {
    beforeAll(async () => {
      aws = await startAwsEmulators({ backend: 'moto' });
      const release = await publishMotoTenantRelease(aws, REGION);
      cfn = release.cfn;
      server = await startTestServer({
        env: {
          ...(await aws.platformEnv()),
          SILOPOOL_BACKEND: 'aws',
          SILOPOOL_ACCOUNT: ACCOUNT,
          SILOPOOL_PROVISIONING: 'stack',
          // moto has neither DescribeAccountLimits nor Lambda GetAccountSettings.
          SILOPOOL_ACCOUNT_QUOTAS: 'unchecked',
          SILOPOOL_TENANT_TEMPLATE_URL: release.templateUrl,
          SILOPOOL_TENANT_CODE_BUCKET: release.code.bucket,
          SILOPOOL_TENANT_CODE_KEY: release.code.key,
          SILOPOOL_STACK_POLL_MS: '100',
          AWS_ENDPOINT_URL_CLOUDFORMATION: aws.endpoints.s3,
        },
      });
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      cfn?.destroy();
      await aws?.stop();
    });

    it('onboards a dedicated tenant onto its own stack, runs its jobs there, and demotion deletes the stack', async () => {
      const id = newTenantId('mstk') as TenantId;
      const created = await server.api('/v1/admin/tenants', {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ id, name: 'Moto Co', placement: 'dedicated' }),
      });
      expect(created.status).toBe(201);
      const body = (await created.json()) as { apiKey: string; operation?: { id: string } };
      const early = await runFinanceJob(server, body.apiKey, 1_000_000);
      const op = await waitForOperation(server, body.operation!.id, 90_000);
      expect(op.status, JSON.stringify(op.steps)).toBe('succeeded');
      const [stack] =
        (await cfn.send(new DescribeStacksCommand({ StackName: tenantStackName(id) }))).Stacks ?? [];
      expect(stack?.StackStatus).toBe('CREATE_COMPLETE');
      expect(stack?.Tags).toContainEqual({ Key: 'silopool:tenant', Value: id });
      const table = dedicatedTableName(id);
      const bucket = dedicatedBucketName(id, ACCOUNT, REGION);
      expect(await exists(() => aws.dynamo.send(new DescribeTableCommand({ TableName: table })))).toBe(true);

      // Jobs run from the stack's queues against its table and bucket; the early job moved there.
      const late = await runFinanceJob(server, body.apiKey, 2_000_000);
      for (const { job } of [early, late])
        expect((await server.api(job.artifacts[0]!.url, { token: body.apiKey })).status).toBe(200);

      const back = await waitForOperation(server, (await startMove(server, id, 'shared')).id, 90_000);
      expect(back.status, JSON.stringify(back.steps)).toBe('succeeded');
      expect(back.steps.at(-1)?.detail).toMatch(/deleted stack/);
      expect(await exists(() => aws.dynamo.send(new DescribeTableCommand({ TableName: table })))).toBe(false);
      expect(await exists(() => aws.s3.send(new HeadBucketCommand({ Bucket: bucket })))).toBe(false);
      const queues = await aws.sqs.send(new ListQueuesCommand({ QueueNamePrefix: `tenant_${id}_` }));
      expect(queues.QueueUrls ?? []).toEqual([]);
      for (const { job } of [early, late])
        expect((await server.api(job.artifacts[0]!.url, { token: body.apiKey })).status).toBe(200);
    }, 240_000);
  },
);
