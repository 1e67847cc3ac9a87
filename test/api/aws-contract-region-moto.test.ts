import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  GetBucketLocationCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeTenantTemplate } from '../../infra/tenant-template.ts';
import { dedicatedBucketName, dedicatedTableName, tenantStackName } from '../../src/adapters/aws/naming.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { listModels } from '../../src/models/registry.ts';
import { waitForOperation } from '../placement/helpers.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// A dedicated tenant whose contract names another Region (data residency), end to end on one moto_server,
// which keeps each Region's SQS, DynamoDB and CloudFormation apart (clients of two Regions, one endpoint).
// The platform is in us-east-1 and may deploy to eu-west-1 (SILOPOOL_CONTRACT_REGIONS).
const ACCOUNT = '123456789012';
const PLATFORM = 'us-east-1';
const CONTRACT = 'eu-west-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let aws: AwsEmulators;
let server: TestServer;
let codeBucket: string;
let platformEnv: Record<string, string>;
const clients: { destroy(): void }[] = [];

function inRegion(region: string) {
  const endpoint = aws.endpoints.s3;
  const made = {
    cfn: new CloudFormationClient({ endpoint, region, credentials }),
    dynamo: new DynamoDBClient({ endpoint, region, credentials }),
    sqs: new SQSClient({ endpoint, region, credentials }),
    s3: new S3Client({ endpoint, region, credentials, forcePathStyle: true }),
  };
  clients.push(...Object.values(made));
  return made;
}

async function exists(check: () => Promise<unknown>): Promise<boolean> {
  return check().then(
    () => true,
    () => false,
  );
}

describe.skipIf(!motoAvailable())(
  `a contract-region tenant on moto ${motoAvailable() ? '' : MOTO_MISSING}`,
  () => {
    beforeAll(async () => {
      aws = await startAwsEmulators({ backend: 'moto' });
      codeBucket = await aws.createBucket('releases');
      const template = synthesizeTenantTemplate(listModels().map((m) => m.name)) as {
        Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
      };
      // moto 5.2's KMS handler crashes on the key's Tags (docs/aws.md "Emulators and linting").
      for (const resource of Object.values(template.Resources))
        if (resource.Type === 'AWS::KMS::Key') delete resource.Properties?.Tags;
      await aws.s3.send(
        new PutObjectCommand({
          Bucket: codeBucket,
          Key: 'tenant.template.json',
          Body: JSON.stringify(template),
        }),
      );
      await aws.s3.send(
        new PutObjectCommand({
          Bucket: codeBucket,
          Key: 'model.zip',
          Body: Buffer.from(`PK\x05\x06${'\0'.repeat(18)}`, 'binary'),
        }),
      );
      platformEnv = await aws.platformEnv();
      server = await startTestServer({
        env: {
          ...platformEnv,
          SILOPOOL_BACKEND: 'aws',
          SILOPOOL_ACCOUNT: ACCOUNT,
          SILOPOOL_PROVISIONING: 'stack',
          SILOPOOL_CONTRACT_REGIONS: CONTRACT,
          SILOPOOL_ACCOUNT_QUOTAS: 'unchecked',
          SILOPOOL_TENANT_TEMPLATE_URL: `https://${codeBucket}.s3.amazonaws.com/tenant.template.json`,
          SILOPOOL_TENANT_CODE_BUCKET: codeBucket,
          SILOPOOL_TENANT_CODE_KEY: 'model.zip',
          SILOPOOL_STACK_POLL_MS: '100',
          AWS_ENDPOINT_URL_CLOUDFORMATION: aws.endpoints.s3,
        },
      });
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      for (const client of clients) client.destroy();
      await aws?.stop();
    });

    it('onboards it dedicated in its Region, keeps its queues, records and workbooks there, and never places it shared', async () => {
      const platform = inRegion(PLATFORM);
      const contract = inRegion(CONTRACT);
      const id = newTenantId('rgn') as TenantId;
      const created = await server.api('/v1/admin/tenants', {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ id, name: 'Residency Co', placement: 'dedicated', region: CONTRACT }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const body = (await created.json()) as { apiKey: string; operation: { id: string } };
      const submit = () =>
        server.api('/v1/models/finance/jobs', {
          method: 'POST',
          token: body.apiKey,
          body: JSON.stringify({ input: { revenue: 1_000_000 } }),
        });
      // Until its promotion sends to its own lanes, no job of it may land in the platform's shared stores.
      const early = await submit();
      expect(early.status).toBe(409);
      expect(await early.json()).toMatchObject({ code: 'region_requires_dedicated' });
      const operation = await waitForOperation(server, body.operation.id, 90_000);
      expect(operation.status, JSON.stringify(operation.steps)).toBe('succeeded');

      // Its stack, queues, table and bucket are in eu-west-1, none in us-east-1.
      const stackName = tenantStackName(id);
      const [stack] =
        (await contract.cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks ?? [];
      expect(stack?.StackStatus).toBe('CREATE_COMPLETE');
      expect(stack?.Parameters).toContainEqual({ ParameterKey: 'PlatformRegion', ParameterValue: PLATFORM });
      expect(await exists(() => platform.cfn.send(new DescribeStacksCommand({ StackName: stackName })))).toBe(
        false,
      );
      const table = dedicatedTableName(id);
      expect(await exists(() => contract.dynamo.send(new DescribeTableCommand({ TableName: table })))).toBe(
        true,
      );
      expect(await exists(() => platform.dynamo.send(new DescribeTableCommand({ TableName: table })))).toBe(
        false,
      );
      const queues = async (sqs: SQSClient) =>
        (await sqs.send(new ListQueuesCommand({ QueueNamePrefix: `tenant_${id}_` }))).QueueUrls ?? [];
      expect(await queues(contract.sqs)).not.toEqual([]);
      expect(await queues(platform.sqs)).toEqual([]);
      const bucket = dedicatedBucketName(id, ACCOUNT, CONTRACT);
      const location = await contract.s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
      expect(location.LocationConstraint).toBe(CONTRACT);
      // Lambda reads code from its own Region: the bundle was copied into that Region's code bucket.
      await contract.s3.send(
        new HeadObjectCommand({ Bucket: `${codeBucket}-${CONTRACT}`, Key: 'model.zip' }),
      );

      // A job through the API runs from its eu-west-1 queue; its record and workbook are in eu-west-1.
      const res = await submit();
      expect(res.status, await res.clone().text()).toBe(202);
      const { id: jobId } = (await res.json()) as { id: string };
      const job = (await waitForJob(server, body.apiKey, jobId, { timeoutMs: 30_000 }).catch((e) => {
        throw new Error(`${e}\n${server.output().slice(-6000)}`);
      })) as {
        status: string;
        artifacts: { url: string }[];
      };
      expect(job.status).toBe('succeeded');
      expect((await server.api(job.artifacts[0]!.url, { token: body.apiKey })).status).toBe(200);
      const items = await contract.dynamo.send(new ScanCommand({ TableName: table }));
      expect(JSON.stringify(items.Items)).toContain(jobId);
      const shared = await platform.dynamo.send(new ScanCommand({ TableName: platformEnv.SILOPOOL_TABLE }));
      expect(JSON.stringify(shared.Items ?? [])).not.toContain(id);
      const objects = await contract.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect((objects.Contents ?? []).some((o) => o.Key?.includes(jobId))).toBe(true);

      // Shared placement is refused both ways in: a move, and the advisor's recommendation.
      const demote = await server.api(`/v1/admin/tenants/${id}/placement`, {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ placement: 'shared' }),
      });
      expect(demote.status).toBe(409);
      expect(await demote.json()).toMatchObject({ code: 'region_requires_dedicated' });
      const advice = (await (
        await server.api('/v1/admin/advisor', { token: server.operatorToken })
      ).json()) as { items: { tenantId: string; recommended?: string }[] };
      const mine = advice.items.find((a) => a.tenantId === id);
      expect(mine?.recommended).not.toBe('shared');
      // Its stack and data stay in eu-west-1: its region cannot be changed under them.
      for (const region of ['us-east-1', null]) {
        const changed = await server.api(`/v1/admin/tenants/${id}/region`, {
          method: 'PUT',
          token: server.operatorToken,
          body: JSON.stringify({ region }),
        });
        expect(changed.status).toBe(409);
        expect(await changed.json()).toMatchObject({ code: 'region_change_requires_move' });
      }
    }, 240_000);

    it("moves a shared tenant's stack and data into its contract Region when it is promoted with one", async () => {
      const platform = inRegion(PLATFORM);
      const contract = inRegion(CONTRACT);
      const id = newTenantId('rgp') as TenantId;
      const created = await server.api('/v1/admin/tenants', {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ id, name: 'Moving Co' }),
      });
      const { apiKey } = (await created.json()) as { apiKey: string };
      const submit = () =>
        server.api('/v1/models/finance/jobs', {
          method: 'POST',
          token: apiKey,
          body: JSON.stringify({ input: { revenue: 2_000_000 } }),
        });
      const before = (await (await submit()).json()) as { id: string };
      const done = (await waitForJob(server, apiKey, before.id, { timeoutMs: 30_000 })) as {
        artifacts: { url: string }[];
      };
      const promoted = await server.api(`/v1/admin/tenants/${id}/placement`, {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ placement: 'dedicated', region: CONTRACT }),
      });
      expect(promoted.status, await promoted.clone().text()).toBe(202);
      expect((await submit()).status).toBe(409);
      const op = await waitForOperation(server, ((await promoted.json()) as { id: string }).id, 90_000);
      expect(op.status, JSON.stringify(op.steps)).toBe('succeeded');
      // Its earlier job moved with it: readable, and its record in eu-west-1, none left in the shared table.
      expect((await server.api(done.artifacts[0]!.url, { token: apiKey })).status).toBe(200);
      const table = dedicatedTableName(id);
      const moved = await contract.dynamo.send(new ScanCommand({ TableName: table }));
      expect(JSON.stringify(moved.Items)).toContain(before.id);
      const shared = await platform.dynamo.send(new ScanCommand({ TableName: platformEnv.SILOPOOL_TABLE }));
      expect(JSON.stringify(shared.Items ?? [])).not.toContain(before.id);
      expect((await submit()).status).toBe(202);
      // A shared promotion's region is refused where it cannot be honoured.
      const elsewhere = await server.api(`/v1/admin/tenants/${newTenantId('rgq')}/placement`, {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ placement: 'shared', region: CONTRACT }),
      });
      expect(elsewhere.status).toBe(400);
    }, 240_000);

    it('refuses a Region the platform is not configured for, before anything is made', async () => {
      const id = newTenantId('rgx');
      const res = await server.api('/v1/admin/tenants', {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ id, name: 'Elsewhere', placement: 'dedicated', region: 'ap-south-1' }),
      });
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ code: 'region_unavailable' });
      expect((await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })).status).toBe(404);
    });
  },
);
