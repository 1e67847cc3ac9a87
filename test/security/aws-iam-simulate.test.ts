import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformNames } from '../../infra/naming.ts';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { createAwsStoreProvider, emulatorTableInput } from '../../src/adapters/aws/stores.ts';
import { tenantSessionPolicy } from '../../src/adapters/aws/tenant-scope.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob } from '../contract/fixtures.ts';
import { ENV, testConfig } from '../infra/support.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { newTenantId } from '../support/server.ts';

// Condition-level isolation of shared placement, which no emulator evaluates (moto ignores
// dynamodb:LeadingKeys and s3:prefix): the tenant scope role's policy synthesized from infra/ together with
// the session policy src/adapters/aws/tenant-scope.ts passes to AssumeRole, evaluated by an IAM policy
// simulator (@cloud-copilot/iam-simulate) for every request the shared data views make, recorded as the
// AWS SDK sends them. Serving `a1`, each is allowed; the same request for `a1-x` is denied.
const { account, region } = ENV;
const SHARED_TABLE = platformNames(account, region).sharedTable;
const TABLE_ARN = `arn:aws:dynamodb:${region}:${account}:table/${SHARED_TABLE}`;
let aws: AwsEmulators;
let bucket: string;

interface AwsRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/** The tenant scope role's identity policy, its table and bucket resolved to the names used here. */
function scopeRolePolicy(bucketName: string): unknown {
  const app = new App();
  const stack = new PlatformStack(app, 'platform', { env: ENV, config: testConfig() });
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  };
  const [, policy] =
    Object.entries(template.Resources).find(
      ([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith('TenantScopeRoleDefaultPolicy'),
    ) ?? [];
  const arnOf = (logicalId: string) =>
    logicalId.startsWith('SharedTable')
      ? TABLE_ARN
      : logicalId.startsWith('SharedBucket')
        ? `arn:aws:s3:::${bucketName}`
        : `arn:aws:unresolved:::${logicalId}`;
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const record = node as Record<string, unknown>;
    if ('Fn::GetAtt' in record) return arnOf((record['Fn::GetAtt'] as string[])[0] ?? '');
    if ('Fn::Join' in record) {
      const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve(policy?.Properties?.PolicyDocument);
}

const stringOf = (value: unknown): string | undefined =>
  value && typeof value === 'object' && 'S' in value ? String((value as { S: unknown }).S) : undefined;

/** The IAM request an SDK command makes: action, resource ARN and the condition keys IAM sees. */
function iamRequestOf(command: string, input: Record<string, unknown>): AwsRequest {
  const dynamo: Record<string, string> = {
    GetItemCommand: 'GetItem',
    PutItemCommand: 'PutItem',
    UpdateItemCommand: 'UpdateItem',
    DeleteItemCommand: 'DeleteItem',
    QueryCommand: 'Query',
  };
  if (dynamo[command]) {
    const key = (input.Key ?? input.Item) as Record<string, unknown> | undefined;
    const values = input.ExpressionAttributeValues as Record<string, unknown> | undefined;
    const pk = stringOf(key?.pk) ?? stringOf(values?.[':pk']);
    const index = input.IndexName ? `/index/${String(input.IndexName)}` : '';
    return {
      action: `dynamodb:${dynamo[command]}`,
      resource: `${TABLE_ARN}${index}`,
      context: pk ? { 'dynamodb:LeadingKeys': [pk] } : {},
    };
  }
  const s3: Record<string, string> = {
    PutObjectCommand: 's3:PutObject',
    GetObjectCommand: 's3:GetObject',
    DeleteObjectCommand: 's3:DeleteObject',
  };
  if (s3[command]) {
    return { action: s3[command], resource: `arn:aws:s3:::${bucket}/${String(input.Key)}`, context: {} };
  }
  if (command === 'ListObjectsV2Command') {
    return {
      action: 's3:ListBucket',
      resource: `arn:aws:s3:::${bucket}`,
      context: { 's3:prefix': String(input.Prefix ?? '') },
    };
  }
  throw new Error(`The shared data views sent ${command}: teach this test its IAM request.`);
}

/** Every request the shared data views of `tenantId` send, in the order sent. */
async function recordRequests(tenantId: TenantId): Promise<AwsRequest[]> {
  const requests: AwsRequest[] = [];
  const record = (name: string) =>
    ((next: (args: { input: object }) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input: object }) => {
        requests.push(iamRequestOf(context.commandName ?? name, args.input as Record<string, unknown>));
        return next(args);
      }) as never;
  // Marshalled input, as DynamoDB and S3 receive it.
  aws.dynamo.middlewareStack.add(record('dynamo'), { step: 'serialize', name: 'recordIam', override: true });
  aws.s3.middlewareStack.add(record('s3'), { step: 'serialize', name: 'recordIam', override: true });
  try {
    const stores = createAwsStoreProvider({
      dynamo: aws.dynamo,
      s3: aws.s3,
      sharedTable: SHARED_TABLE,
      sharedBucket: bucket,
      account,
      region,
      provisioning: 'create',
    });
    const { jobs, objects } = tenantDataAt(stores, { kind: 'shared' }, tenantId);
    const job = makeJob(tenantId);
    await jobs.create(job);
    await jobs.get(job.id);
    await jobs.update({ ...job, status: 'running' }, job.version);
    await jobs.list({ limit: 10 });
    const claim = { key: 'k1', requestHash: 'h', jobId: job.id, createdAt: job.createdAt };
    await jobs.claimIdempotencyKey(claim);
    await jobs.deleteIdempotencyKey('k1');
    await jobs.countItems();
    await objects.put(`jobs/${job.id}/out.xlsx`, new Uint8Array([1]), 'application/zip');
    await objects.get(`jobs/${job.id}/out.xlsx`);
    await objects.list(`jobs/${job.id}/`);
    await objects.delete(`jobs/${job.id}/out.xlsx`);
    await jobs.delete(job.id);
  } finally {
    aws.dynamo.middlewareStack.remove('recordIam');
    aws.s3.middlewareStack.remove('recordIam');
  }
  return requests;
}

async function decide(request: AwsRequest, session: unknown, identity: unknown): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${account}:assumed-role/${platformNames(account, region).tenantScopeRole}/t`,
        action: request.action,
        resource: { resource: request.resource, accountId: account },
        contextVariables: request.context,
      },
      identityPolicies: [{ name: 'TenantScopeRole', policy: identity }],
      sessionPolicy: session,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

/** The same request as another tenant's: its partition key and object prefix swapped. */
function asTenant(request: AwsRequest, from: string, to: string): AwsRequest {
  const swap = (text: string) =>
    text.replace(`T#${from}`, `T#${to}`).replace(`tenants/${from}/`, `tenants/${to}/`);
  return {
    ...request,
    resource: swap(request.resource),
    context: Object.fromEntries(
      Object.entries(request.context).map(([k, v]) => [k, Array.isArray(v) ? v.map(swap) : swap(v)]),
    ),
  };
}

describe("a shared model function's scoped session (role policy ∩ session policy)", () => {
  const a1 = newTenantId('a1') as TenantId;
  const a1x = `${a1}-x` as TenantId;
  let identity: unknown;
  let session: unknown;
  let requests: AwsRequest[];

  beforeAll(async () => {
    aws = await startAwsEmulators();
    await aws.dynamo.send(new CreateTableCommand(emulatorTableInput(SHARED_TABLE)));
    bucket = await aws.createBucket('shared');
    identity = scopeRolePolicy(bucket);
    session = tenantSessionPolicy({ tenantId: a1, table: TABLE_ARN, bucket });
    requests = await recordRequests(a1);
  }, 120_000);
  afterAll(() => aws?.stop());

  it('sends the requests the simulator is asked about: item and object actions of both services', () => {
    const actions = new Set(requests.map((r) => r.action));
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:DeleteItem'])
      expect(actions).toContain(action);
    for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:ListBucket'])
      expect(actions).toContain(action);
  });

  it('allows every request the code makes for a1', async () => {
    for (const request of requests)
      expect(
        `${request.action} ${JSON.stringify(request.context)} ${await decide(request, session, identity)}`,
      ).toBe(`${request.action} ${JSON.stringify(request.context)} Allowed`);
  });

  it('denies each of them for a1-x while serving a1, and a request without a partition key', async () => {
    for (const request of requests.map((r) => asTenant(r, a1, a1x))) {
      expect(`${request.action} ${JSON.stringify(request.context)} ${request.resource}`).not.toContain(
        `T#${a1}"`,
      );
      expect(await decide(request, session, identity)).not.toBe('Allowed');
    }
    const scan = { action: 'dynamodb:Query', resource: TABLE_ARN, context: {} };
    expect(await decide(scan, session, identity)).not.toBe('Allowed');
    // Listing the bucket above the tenant's prefix shows other tenants' keys: denied too.
    const listAll = {
      action: 's3:ListBucket',
      resource: `arn:aws:s3:::${bucket}`,
      context: { 's3:prefix': 'tenants/' },
    };
    expect(await decide(listAll, session, identity)).not.toBe('Allowed');
  });

  it('is the session policy that narrows: the role alone would allow a1-x', async () => {
    const wide = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    const [first] = requests.map((r) => asTenant(r, a1, a1x)).filter((r) => r.action.startsWith('dynamodb:'));
    if (!first) throw new Error('no DynamoDB request recorded');
    expect(await decide(first, wide, identity)).toBe('Allowed');
  });
});
