import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEDICATED } from '../../infra/config.ts';
import { TenantStack } from '../../infra/tenant-stack.ts';
import { type CfnTemplate, instantiate, stubCode } from '../infra/support.ts';
import { MOTO_MISSING, type Moto, motoAvailable, startMoto } from '../support/moto.ts';
import { newTenantId } from '../support/server.ts';

// Negative IAM tests on moto with IAM enforced: a dedicated tenant's model role, with the policy synthesized
// from infra/tenant-stack.ts, assumed through STS, reaches its own bucket and queue and is refused another
// tenant's. moto 5.2 checks resources for S3, SQS, IAM and STS only: DynamoDB requests are checked against
// resource `*` (no `_determine_resource` in moto/dynamodb/responses.py), so a table-scoped grant can be
// neither allowed nor told apart there, and condition keys (dynamodb:LeadingKeys, s3:prefix) are not
// evaluated. Tables and conditions: test/security/aws-iam-simulate.test.ts, with an IAM policy simulator.
const ENV = { account: '123456789012', region: 'us-east-1' }; // moto's default account
let moto: Moto;
let admin: { accessKeyId: string; secretAccessKey: string };

interface Tenant {
  id: string;
  bucket: string;
  queue: string;
  statements: unknown[];
}

/** The tenant's stack as CloudFormation would create it, its model role's policy with real ARNs. */
function tenantOf(id: string): Tenant {
  const app = new App();
  new TenantStack(app, `silopool-tenant-${id}`, {
    env: ENV,
    tenant: { id, ...DEFAULT_DEDICATED },
    models: ['finance'],
    code: stubCode(),
  });
  const resources = instantiate(app.synth().getStackByName(`silopool-tenant-${id}`).template as CfnTemplate);
  const nameOf = (type: string, property: string) =>
    String(Object.values(resources).find((r) => r.Type === type)?.Properties?.[property]);
  const table = nameOf('AWS::DynamoDB::Table', 'TableName');
  const bucket = nameOf('AWS::S3::Bucket', 'BucketName');
  const queue = `tenant_${id}_finance`;
  const arnOf = (logicalId: string): string => {
    const resource = resources[logicalId];
    const type = resource?.Type;
    if (type === 'AWS::DynamoDB::Table')
      return `arn:aws:dynamodb:${ENV.region}:${ENV.account}:table/${table}`;
    if (type === 'AWS::S3::Bucket') return `arn:aws:s3:::${bucket}`;
    if (type === 'AWS::SQS::Queue')
      return `arn:aws:sqs:${ENV.region}:${ENV.account}:${String(resource?.Properties?.QueueName)}`;
    return `arn:aws:${(type ?? 'x').split('::')[1]?.toLowerCase()}:${ENV.region}:${ENV.account}:${logicalId}`;
  };
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const record = node as Record<string, unknown>;
    if ('Fn::GetAtt' in record) return arnOf((record['Fn::GetAtt'] as string[])[0] ?? '');
    if (record.Ref === 'AWS::Partition') return 'aws';
    if ('Fn::Join' in record) {
      const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolve(v)]));
  };
  const policy = Object.values(resources).find((r) => r.Type === 'AWS::IAM::Policy');
  const document = resolve(policy?.Properties?.PolicyDocument) as { Statement: { Condition?: unknown }[] };
  // moto 5.2 answers an Allow whose condition does not hold as an explicit Deny, for any resource
  // (iam/access_control.py, IAMPolicyStatement.is_action_permitted): the conditioned statements (the view
  // and dedup items) would deny the role its own table. They are left to the simulator test.
  return { id, bucket, queue, statements: document.Statement.filter((st) => !st.Condition) };
}

const client = <T>(
  make: (config: { endpoint: string; region: string; credentials: typeof admin }) => T,
  creds = admin,
) => make({ endpoint: moto.endpoint, region: ENV.region, credentials: creds });

/**
 * One IAM call on moto's query API. The test makes its users and roles in moto's unchecked phase (the
 * project carries no IAM client), so the request needs no signature, only the service in its credential scope.
 */
async function iam(params: Record<string, string>): Promise<string> {
  const res = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=bootstrap/20260101/${ENV.region}/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Version: '2010-05-08', ...params }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`IAM ${params.Action}: ${res.status} ${text}`);
  return text;
}

const xmlValue = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1] ?? '';

/** The tenant's model role with its synthesized policy (unchecked phase: two requests). */
async function createRole(tenant: Tenant): Promise<string> {
  const created = await iam({
    Action: 'CreateRole',
    RoleName: `model-${tenant.id}`,
    Path: '/silopool-tenant/',
    AssumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ENV.account}:user/admin` },
          Action: 'sts:AssumeRole',
        },
      ],
    }),
  });
  await iam({
    Action: 'PutRolePolicy',
    RoleName: `model-${tenant.id}`,
    PolicyName: 'synthesized',
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: tenant.statements }),
  });
  return xmlValue(created, 'Arn');
}

/** Temporary credentials of the role, from STS AssumeRole (checked: the administrator may assume it). */
async function assume(roleArn: string, session: string): Promise<typeof admin & { sessionToken: string }> {
  const sts = client((c) => new STSClient(c));
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: session }));
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new Error('AssumeRole gave no credentials');
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

const available = motoAvailable();

describe.skipIf(!available)(
  `a dedicated tenant's role on moto with IAM enforced ${available ? '' : MOTO_MISSING}`,
  () => {
    let a: Tenant;
    let b: Tenant;
    let asA: typeof admin & { sessionToken: string };

    beforeAll(async () => {
      [a, b] = [tenantOf(newTenantId('iama')), tenantOf(newTenantId('iamb'))];
      // Five unchecked requests make an administrator and tenant a's role; moto checks every request after them.
      moto = await startMoto({ enforceIamAfter: 5 });
      await iam({ Action: 'CreateUser', UserName: 'admin' });
      await iam({
        Action: 'PutUserPolicy',
        UserName: 'admin',
        PolicyName: 'all',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      });
      const key = await iam({ Action: 'CreateAccessKey', UserName: 'admin' });
      admin = {
        accessKeyId: xmlValue(key, 'AccessKeyId'),
        secretAccessKey: xmlValue(key, 'SecretAccessKey'),
      };
      const roleArn = await createRole(a);
      const s3 = client((c) => new S3Client({ ...c, forcePathStyle: true }));
      const sqs = client((c) => new SQSClient(c));
      for (const t of [a, b]) {
        await s3.send(new CreateBucketCommand({ Bucket: t.bucket }));
        await s3.send(new PutObjectCommand({ Bucket: t.bucket, Key: 'tenants/x/secret.txt', Body: t.id }));
        const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: t.queue }));
        await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: t.id }));
      }
      asA = await assume(roleArn, a.id);
    }, 120_000);
    afterAll(() => moto?.stop());

    const queueUrl = async (name: string) =>
      (await client((c) => new SQSClient(c)).send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;

    it('reaches its own bucket under tenants/ and its own queue', async () => {
      const s3 = client((c) => new S3Client({ ...c, forcePathStyle: true }), asA);
      await s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: 'tenants/x/out.xlsx', Body: 'ok' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: a.bucket, Key: 'tenants/x/secret.txt' }));
      expect(await got.Body?.transformToString()).toBe(a.id);
      const sqs = client((c) => new SQSClient(c), asA);
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: await queueUrl(a.queue) }));
      expect(out.Messages?.map((m) => m.Body)).toEqual([a.id]);
    });

    it("is refused another tenant's queue, to read from or to write to", async () => {
      const sqs = client((c) => new SQSClient(c), asA);
      const theirs = await queueUrl(b.queue);
      await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: theirs }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 403 },
      });
      await expect(
        sqs.send(new SendMessageCommand({ QueueUrl: theirs, MessageBody: 'x' })),
      ).rejects.toMatchObject({
        $metadata: { httpStatusCode: 403 },
      });
    });

    it("is refused another tenant's bucket, and its own bucket outside tenants/", async () => {
      const s3 = client((c) => new S3Client({ ...c, forcePathStyle: true }), asA);
      await expect(
        s3.send(new GetObjectCommand({ Bucket: b.bucket, Key: 'tenants/x/secret.txt' })),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(
        s3.send(new PutObjectCommand({ Bucket: b.bucket, Key: 'tenants/x/planted', Body: 'x' })),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(
        s3.send(new PutObjectCommand({ Bucket: a.bucket, Key: 'elsewhere', Body: 'x' })),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
      });
    });
  },
);
