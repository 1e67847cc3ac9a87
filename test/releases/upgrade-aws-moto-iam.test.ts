import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { tenantStackName } from '../../src/adapters/aws/naming.ts';
import { RELEASE_POINTER_KEY } from '../../src/adapters/aws/release-pointer.ts';
import { emulatorTableInput } from '../../src/adapters/aws/stores.ts';
import { TENANT_STACK_ENV } from '../../src/adapters/aws/tenant-stack.ts';
import { createRolloutRunner, type RolloutRunner } from '../../src/control/release-rollout.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { type AwsControl, createAwsControl } from '../../src/entry/aws-control.ts';
import { type AwsPorts, createAwsPorts } from '../../src/entry/aws-wiring.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import { listModels } from '../../src/models/registry.ts';
import { openReleaseCatalog } from '../../src/models/release-catalog.ts';
import { testConfig } from '../infra/support.ts';
import { putTenantAlarmsOk } from '../support/cloudwatch.ts';
import { MOTO_MISSING, type Moto, motoAvailable, startMoto } from '../support/moto.ts';
import { createMotoUser, EMPTY_ZIP, motoTenantTemplate } from '../support/moto-stacks.ts';
import { newTenantId } from '../support/server.ts';
import { publishRelease } from './fixtures.ts';

/**
 * The upgrade operation with moto's IAM enforced, signed as the API and control role synthesized from
 * infra/ (`ApiRole` of the platform stack): the control plane's own wiring (`createAwsPorts`,
 * `createAwsControl`, `createRolloutRunner`) creates tenant stacks and upgrades them in this process.
 * What moto 5.2 cannot check, and so what the role given to moto differs in (each verified by the first test):
 * - CloudFormation, CloudWatch and DynamoDB requests are checked against resource `*` (only S3, SQS, IAM and
 *   STS name a resource: moto/core/responses.py `_determine_resource`), so their statements' resources are
 *   widened to `*`; their actions stay exactly the synthesized ones.
 * - An Allow with a Condition whose keys moto does not supply is answered as an explicit Deny
 *   (iam/access_control.py `_check_conditions`): CreateStack and UpdateStack (`cloudformation:TemplateUrl`,
 *   `cloudformation:RoleArn`) and the shared bucket's ListBucket (`s3:prefix`) would be refused whatever the
 *   request, so conditions are dropped. Which templates may be deployed is judged by the IAM policy
 *   simulator instead (test/security/aws-iam-release-templates.test.ts).
 * - moto authorizes S3 HeadBucket as the action `s3:HeadBucket` (moto/s3/responses.py ACTION_MAP), which
 *   IAM does not have (AWS checks `s3:ListBucket`): it is added beside each `s3:ListBucket`.
 * - moto's CloudFormation reads the template and creates resources without IAM (no deployer role), and skips
 *   `AWS::CloudWatch::Alarm`: the administrator makes the alarms.
 * S3 and SQS requests are checked against the resolved ARNs, as AWS would.
 */
const ENV = { account: '123456789012', region: 'us-east-1' }; // moto's account
const TENANTS = 3;
const MODELS = listModels().map((m) => m.name);
/** Services moto checks against resource `*` only. */
const UNSCOPED = ['cloudformation:', 'cloudwatch:', 'dynamodb:'];

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
type Keys = { accessKeyId: string; secretAccessKey: string };

let moto: Moto;
let dataDir: string;
let admin: Keys;
let ports: AwsPorts;
let control: AwsControl;
let rollouts: RolloutRunner;
let strictStatements: Statement[];
const names = {
  sharedBucket: `silopool-shared-${Date.now().toString(36)}`,
  tables: {} as Record<string, string>,
};
let assets: { bucket: string; templateKey: string; codeBucket: string; codeKey: string };
const tenants: TenantId[] = [];

/** A template value with the platform's references resolved to the names used on moto. */
function resolveIn(resources: Resources) {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::Region': ENV.region,
    'AWS::AccountId': ENV.account,
  };
  const arnOf = (logicalId: string): string => {
    const type = resources[logicalId]?.Type ?? '';
    if (type === 'AWS::S3::Bucket' && logicalId.startsWith('SharedBucket'))
      return `arn:aws:s3:::${names.sharedBucket}`;
    if (type === 'AWS::DynamoDB::Table')
      return `arn:aws:dynamodb:${ENV.region}:${ENV.account}:table/${logicalId}`;
    if (type === 'AWS::IAM::Role') return `arn:aws:iam::${ENV.account}:role/${logicalId}`;
    const service = type.split('::')[1]?.toLowerCase() ?? 'x';
    return `arn:aws:${service}:${ENV.region}:${ENV.account}:${logicalId}`;
  };
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const record = node as Record<string, unknown>;
    if ('Ref' in record) return pseudo[String(record.Ref)] ?? `unresolved-${String(record.Ref)}`;
    if ('Fn::Sub' in record)
      return String(record['Fn::Sub']).replace(/\$\{([^}]+)\}/g, (_, name: string) => pseudo[name] ?? name);
    if ('Fn::GetAtt' in record) return arnOf((record['Fn::GetAtt'] as string[])[0] ?? '');
    if ('Fn::Join' in record) {
      const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(separator);
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve;
}

/** The API role's statements as synthesized (inline and overflow policies), and its function's environment. */
function synthesizedApiRole(): { statements: Statement[]; env: Record<string, string> } {
  const app = new App();
  const stack = new PlatformStack(app, 'platform', { env: ENV, config: testConfig() });
  const resources = (app.synth().getStackByName(stack.stackName).template as { Resources: Resources })
    .Resources;
  const resolve = resolveIn(resources);
  const statements = Object.entries(resources)
    .filter(
      ([id, r]) =>
        (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && id.startsWith('ApiRole'),
    )
    .flatMap(
      ([, r]) => (r.Properties?.PolicyDocument as { Statement?: unknown[] } | undefined)?.Statement ?? [],
    )
    .map((s) => resolve(s) as Statement);
  const [, fn] =
    Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('ApiFunction'),
    ) ?? [];
  const environment = fn?.Properties?.Environment as { Variables: unknown } | undefined;
  if (!environment) throw new Error('No ApiFunction with an environment in the platform stack');
  const env = resolve(environment.Variables) as Record<string, string>;
  return { statements, env };
}

/** What moto can check of a statement: unscoped services widened to `*`, conditions dropped (see above). */
function forMoto(statement: Statement): Statement {
  const actions = [statement.Action].flat();
  const unscoped = actions.every((a) => UNSCOPED.some((prefix) => a.startsWith(prefix)));
  const { Condition: _dropped, ...rest } = statement;
  // moto authorizes HeadBucket as `s3:HeadBucket`, which is no IAM action: AWS checks `s3:ListBucket`.
  // moto names an action after the credential scope's service, `monitoring` for CloudWatch (IAM's `cloudwatch:`).
  const aliases = actions.flatMap((a) => [
    ...(a === 's3:ListBucket' ? ['s3:HeadBucket'] : []),
    ...(a.startsWith('cloudwatch:') ? [a.replace('cloudwatch:', 'monitoring:')] : []),
  ]);
  const Action = aliases.length > 0 ? [...actions, ...aliases] : statement.Action;
  return { ...rest, Action, ...(unscoped ? { Resource: '*' } : {}) };
}

const clientConfig = (credentials: Keys) => ({ endpoint: moto.endpoint, region: ENV.region, credentials });

async function deployed(id: TenantId) {
  const cfn = new CloudFormationClient(clientConfig(admin));
  try {
    const [stack] =
      (await cfn.send(new DescribeStacksCommand({ StackName: tenantStackName(id) }))).Stacks ?? [];
    return {
      status: stack?.StackStatus,
      codeKey: stack?.Parameters?.find((p) => p.ParameterKey === 'CodeKey')?.ParameterValue,
      release: stack?.Outputs?.find((o) => o.OutputKey === 'Release')?.OutputValue,
    };
  } finally {
    cfn.destroy();
  }
}

async function publish(id: string) {
  const s3 = new S3Client({ ...clientConfig(admin), forcePathStyle: true });
  const folder = assets.templateKey.slice(0, assets.templateKey.lastIndexOf('/') + 1);
  const file = assets.codeKey.slice(assets.codeKey.lastIndexOf('/') + 1);
  await s3.send(
    new PutObjectCommand({
      Bucket: assets.bucket,
      Key: `${folder}releases/${id}/tenant-template.json`,
      Body: motoTenantTemplate(MODELS, id),
    }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: assets.codeBucket, Key: `releases/${id}/${file}`, Body: EMPTY_ZIP }),
  );
  s3.destroy();
  publishRelease(dataDir, id, { models: { finance: { version: '1.2.0', body: "version: '1.2.0'" } } });
}

async function queueDepth(queue: string): Promise<number> {
  const sqs = new SQSClient(clientConfig(admin));
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queue }));
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  sqs.destroy();
  return Number(out.Attributes?.ApproximateNumberOfMessages);
}

const available = motoAvailable();

describe.skipIf(!available)(`upgrades with moto's IAM enforced ${available ? '' : MOTO_MISSING}`, () => {
  beforeAll(async () => {
    const api = synthesizedApiRole();
    strictStatements = api.statements;
    const templateUrl = new URL(api.env[TENANT_STACK_ENV.templateUrl] ?? '');
    const [bucket = '', ...key] = templateUrl.pathname.slice(1).split('/');
    assets = {
      bucket,
      templateKey: key.join('/'),
      codeBucket: api.env[TENANT_STACK_ENV.codeBucket] ?? '',
      codeKey: api.env[TENANT_STACK_ENV.codeKey] ?? '',
    };
    // Nine unchecked requests make three users; moto checks every request after them.
    moto = await startMoto({ enforceIamAfter: 9 });
    admin = await createMotoUser(moto.endpoint, 'admin', [{ Effect: 'Allow', Action: '*', Resource: '*' }]);
    const asControl = await createMotoUser(moto.endpoint, 'control', api.statements.map(forMoto));
    const strict = await createMotoUser(moto.endpoint, 'strict', api.statements);

    // The platform's tables, buckets and published template, made by the administrator.
    const dynamo = new DynamoDBClient(clientConfig(admin));
    for (const table of ['jobs', 'tenants', 'views', 'dedup']) {
      names.tables[table] = `${table}-${Date.now().toString(36)}`;
      await dynamo.send(new CreateTableCommand(emulatorTableInput(names.tables[table]!)));
    }
    dynamo.destroy();
    const s3 = new S3Client({ ...clientConfig(admin), forcePathStyle: true });
    for (const b of new Set([names.sharedBucket, assets.bucket, assets.codeBucket]))
      await s3.send(new CreateBucketCommand({ Bucket: b }));
    await s3.send(
      new PutObjectCommand({
        Bucket: assets.bucket,
        Key: assets.templateKey,
        Body: motoTenantTemplate(MODELS),
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: assets.codeBucket, Key: assets.codeKey, Body: EMPTY_ZIP }));
    s3.destroy();

    // The control plane's wiring, signed as the API and control role (the SDK reads its credentials here).
    dataDir = mkdtempSync(join(tmpdir(), 'silopool-upgrade-iam-'));
    process.env.AWS_ACCESS_KEY_ID = asControl.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = asControl.secretAccessKey;
    const env = {
      AWS_REGION: ENV.region,
      AWS_ENDPOINT_URL: moto.endpoint,
      SILOPOOL_TABLE: names.tables.jobs,
      SILOPOOL_TENANTS_TABLE: names.tables.tenants,
      SILOPOOL_TENANT_VIEWS_TABLE: names.tables.views,
      SILOPOOL_DEDUP_TABLE: names.tables.dedup,
      SILOPOOL_BUCKET: names.sharedBucket,
      SILOPOOL_ACCOUNT: ENV.account,
      SILOPOOL_PROVISIONING: 'stack',
      SILOPOOL_ACCOUNT_QUOTAS: 'unchecked',
      SILOPOOL_STACK_POLL_MS: '50',
      // As the platform stack sets it (queue URLs without GetQueueUrl, which moto checks against `*`).
      SILOPOOL_QUEUE_URL_PREFIX: `${moto.endpoint}/${ENV.account}/`,
      SILOPOOL_RELEASES_DIR: join(dataDir, 'releases'),
      [TENANT_STACK_ENV.templateUrl]: templateUrl.toString(),
      [TENANT_STACK_ENV.codeBucket]: assets.codeBucket,
      [TENANT_STACK_ENV.codeKey]: assets.codeKey,
    };
    ports = createAwsPorts(env);
    control = createAwsControl(ports, env);
    rollouts = createRolloutRunner({
      ...control.deps,
      catalog: openEmbeddedReleaseCatalog(join(dataDir, 'releases')),
      ...(control.alarms ? { alarms: control.alarms } : {}),
      observeMs: 1000,
      pollMs: 100,
    });
    // Onboarding, as the control plane does it: each tenant's stack is created under the role.
    for (let i = 0; i < TENANTS; i++) {
      const id = newTenantId(`iu${i}`);
      const { tenant } = await createTenant(control.deps, {
        id,
        name: `Tenant ${id}`,
        placement: 'dedicated',
      });
      tenants.push(tenant.id);
    }
    tenants.sort();
    const cloudWatch = new CloudWatchClient(clientConfig(admin));
    for (const id of tenants) {
      await putTenantAlarmsOk(cloudWatch, id, MODELS);
    }
    cloudWatch.destroy();
    // The role exactly as synthesized is refused what the upgrade needs, for moto's reasons (see above).
    const cfn = new CloudFormationClient(clientConfig(strict));
    await expect(
      cfn.send(new DescribeStacksCommand({ StackName: tenantStackName(tenants[0]!) })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    await expect(
      cfn.send(
        new UpdateStackCommand({
          StackName: tenantStackName(tenants[0]!),
          TemplateURL: templateUrl.toString(),
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    cfn.destroy();
  }, 300_000);

  afterAll(async () => {
    await rollouts?.stop();
    control?.close();
    await moto?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('upgrades every tenant stack in waves under the role', async () => {
    expect(strictStatements.length).toBeGreaterThan(0);
    await publish('r2');
    const op = await rollouts.start('r2');
    expect(JSON.parse(op.params.waves ?? '[]').map((w: string[]) => w.length)).toEqual([1, 2]);
    await rollouts.settled(op.id);
    const done = await ports.operations.get(op.id);
    expect(done?.status, JSON.stringify(done?.steps)).toBe('succeeded');
    for (const id of tenants) {
      expect((await ports.directory.get(id))?.release).toBe('r2');
      expect(await deployed(id)).toMatchObject({ status: 'UPDATE_COMPLETE', release: 'r2' });
    }
  }, 120_000);

  it('rolls back a canary whose lane dead-letters a message: its stack, and the message redriven', async () => {
    await publish('r3-bad');
    const canary = tenants[1]!;
    const queue = `tenant_${canary}_finance`;
    const sqs = new SQSClient(clientConfig(admin));
    const url = async (name: string) =>
      (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    // Queued before the upgrade: still there after it (nothing consumes the stack's queues here).
    await sqs.send(new SendMessageCommand({ QueueUrl: await url(queue), MessageBody: 'queued before' }));
    const op = await rollouts.start('r3-bad', { canary, observeMs: 30_000 });
    for (;;) {
      if ((await deployed(canary)).release === 'r3-bad') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // What the bad code does: a message dead-lettered in the canary's lane.
    await sqs.send(
      new SendMessageCommand({ QueueUrl: await url(`${queue}-dlq`), MessageBody: 'dead letter' }),
    );
    await rollouts.settled(op.id);
    const halted = await ports.operations.get(op.id);
    expect(halted?.status).toBe('failed');
    expect(halted?.error?.code).toBe('rolled_back');
    expect(halted?.steps[0]?.detail).toMatch(/1 dead letters redriven/);
    expect((await ports.directory.get(canary))?.release).toBe('r2');
    expect(await deployed(canary)).toMatchObject({ status: 'UPDATE_COMPLETE', release: 'r2' });
    expect(await queueDepth(`${queue}-dlq`)).toBe(0);
    expect(await queueDepth(queue)).toBe(2);
    sqs.destroy();
  }, 120_000);
  // A damaged pointer's 503 names a rollout as the way out. On AWS each wave deploys its tenants' stacks at
  // the release in their records, but the deploy read the pointer for every tenant first (aws-control.ts
  // releaseOf) and failed with release_pointer_damaged: the upgrade never got past its first wave.
  it('repairs a damaged release pointer by an upgrade, its waves deployed under the role', async () => {
    await ports.dynamo.send(
      new PutCommand({
        TableName: names.tables.views,
        Item: { ...RELEASE_POINTER_KEY, releaseId: 5, version: 'one' },
      }),
    );
    await publish('r4');
    // The pointer of the platform (the DynamoDB item), not the releases folder's file the runner above uses;
    // read after the 5 s its readers keep an answer, so the damage is seen.
    await new Promise((r) => setTimeout(r, 5200));
    const repair = createRolloutRunner({
      ...control.deps,
      catalog: openReleaseCatalog(join(dataDir, 'releases'), ports.releasePointer),
      observeMs: 0,
      pollMs: 100,
    });
    await expect(ports.releasePointer.current()).rejects.toMatchObject({ code: 'release_pointer_damaged' });
    const op = await repair.start('r4');
    await repair.settled(op.id);
    await repair.stop();
    const done = await ports.operations.get(op.id);
    expect(done?.status, JSON.stringify(done?.error ?? done?.steps)).toBe('succeeded');
    for (const id of tenants) {
      expect((await ports.directory.get(id))?.release).toBe('r4');
      expect(await deployed(id)).toMatchObject({ status: 'UPDATE_COMPLETE', release: 'r4' });
    }
    expect(await ports.releasePointer.current()).toBe('r4');
  }, 180_000);
});
