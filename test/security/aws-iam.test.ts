import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildInfra } from '../../infra/app.ts';
import { platformNames } from '../../infra/naming.ts';
import { dedicatedBucketName, dedicatedTableName } from '../../src/adapters/aws/naming.ts';
import { createDynamoTenantDirectory } from '../../src/adapters/aws/tenant-directory.ts';
import { TENANT_TAG } from '../../src/adapters/aws/tenant-stack.ts';
import { createTenantViews, repairTenantViews } from '../../src/adapters/aws/tenant-views.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import { createHandlerDeps } from '../../src/entry/aws-wiring.ts';
import { ENV, testConfig } from '../infra/support.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import {
  allows,
  type Template as CfnTemplate,
  type Environment,
  type IamRequest,
  type IamStatement,
  resolver,
  roleStatements,
} from '../support/iam-policy.ts';

// What each platform and tenant role may do, asked of the synthesized templates with the names
// CloudFormation would give (test/support/iam-policy.ts evaluates the policies, conditions included).
// Each case fails when the narrowing it names is undone.

const { account, region } = ENV;
const names = platformNames(account, region);
const tableArn = (name: string) => `arn:aws:dynamodb:${region}:${account}:table/${name}`;
const TENANTS = tableArn(names.tenantsTable);
const VIEWS = tableArn(names.tenantViewsTable);
const DEDUP = tableArn(names.dedupTable);
const ITEM_READS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:Scan'];
const ITEM_WRITES = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

let app: App;
let platform: { template: CfnTemplate; env: Environment; stack: Stack };
let tenant: { template: CfnTemplate; env: Environment };

function templateOf(stack: Stack): { template: CfnTemplate; env: Environment; stack: Stack } {
  return {
    template: Template.fromStack(stack).toJSON() as CfnTemplate,
    env: { account, region, stackName: stack.stackName },
    stack,
  };
}

/** The one resource of a type whose logical id starts with `prefix`. */
function logicalId(template: CfnTemplate, type: string, prefix: string): string {
  const ids = Object.keys(template.Resources).filter(
    (id) => id.startsWith(prefix) && template.Resources[id]?.Type === type,
  );
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

function role(of: { template: CfnTemplate; env: Environment }, prefix: string): IamStatement[] {
  return roleStatements(of.template, logicalId(of.template, 'AWS::IAM::Role', prefix), of.env);
}

/** Whether `statements` allow each action on the resource, with the request's condition keys. */
function may(
  statements: IamStatement[],
  actions: string[],
  resource: string,
  context?: IamRequest['context'],
) {
  return actions.map((action) => allows(statements, { action, resource, ...(context ? { context } : {}) }));
}

const leading = (pk: string) => ({ 'dynamodb:LeadingKeys': [pk] });

/** A bucket's name as CloudFormation gives it (given, or generated from the stack's name). */
function bucketName(prefix: string): string {
  const id = logicalId(platform.template, 'AWS::S3::Bucket', prefix);
  const given = platform.template.Resources[id]?.Properties?.BucketName;
  return typeof given === 'string' ? given : `${platform.env.stackName}-${id}-1a2b3c4d`.toLowerCase();
}

beforeAll(() => {
  app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-security-')) });
  const built = buildInfra(app, testConfig(), ENV);
  platform = templateOf(built.platform);
  const [acme] = built.tenants;
  tenant = templateOf(acme!);
}, 120_000);

describe('tenant records and secrets (DynamoDB)', () => {
  it('the shared model role reads nothing of the tenant directory (every key hash and webhook secret)', () => {
    const model = role(platform, 'SharedModelRole');
    expect(may(model, ITEM_READS, TENANTS, leading('TENANTS'))).toEqual([false, false, false, false]);
  });

  it('the shared model role writes nothing to the tenant directory (no record, placement or key tampering)', () => {
    const model = role(platform, 'SharedModelRole');
    expect(may(model, ITEM_WRITES, TENANTS, leading('TENANTS'))).toEqual([false, false, false, false]);
  });

  it("a dedicated tenant's role has no action on the tenant directory", () => {
    const dedicated = role(tenant, 'ModelRole');
    expect(may(dedicated, [...ITEM_READS, ...ITEM_WRITES], TENANTS, leading('TENANTS'))).toEqual(
      Array(8).fill(false),
    );
  });

  it("a dedicated tenant's role reads its own view only: not another tenant's, not without a key, never writes", () => {
    const dedicated = role(tenant, 'ModelRole');
    expect(may(dedicated, ['dynamodb:GetItem'], VIEWS, leading('TENANT#acme'))).toEqual([true]);
    expect(may(dedicated, ['dynamodb:GetItem'], VIEWS, leading('TENANT#acme-x'))).toEqual([false]);
    // The current-release pointer, which a tenant without a release of its own follows; read, never written.
    expect(may(dedicated, ['dynamodb:GetItem'], VIEWS, leading('RELEASE#current'))).toEqual([true]);
    expect(may(dedicated, ['dynamodb:PutItem'], VIEWS, leading('RELEASE#current'))).toEqual([false]);
    expect(may(dedicated, ['dynamodb:GetItem'], VIEWS)).toEqual([false]);
    expect(may(dedicated, ['dynamodb:Scan', 'dynamodb:PutItem'], VIEWS, leading('TENANT#acme'))).toEqual([
      false,
      false,
    ]);
  });

  it('the shared model role gets views one item at a time: no listing, no writing', () => {
    const model = role(platform, 'SharedModelRole');
    expect(may(model, ['dynamodb:GetItem'], VIEWS, leading('TENANT#a1'))).toEqual([true]);
    expect(
      may(model, ['dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PutItem'], VIEWS, leading('TENANT#a1')),
    ).toEqual([false, false, false]);
  });

  it("model roles write dedup items of the webhook queue only, not another queue's (which would drop its sends)", () => {
    for (const statements of [role(platform, 'SharedModelRole'), role(tenant, 'ModelRole')]) {
      expect(may(statements, ['dynamodb:PutItem'], DEDUP, leading('DEDUP#system_webhooks'))).toEqual([true]);
      expect(may(statements, ['dynamodb:PutItem'], DEDUP, leading('DEDUP#tenant_b1_finance'))).toEqual([
        false,
      ]);
      expect(may(statements, ['dynamodb:PutItem'], DEDUP, leading('DEDUP#shared_finance'))).toEqual([false]);
    }
  });

  it('the webhook role reads one tenant record at a time and never lists or writes the directory', () => {
    const webhook = role(platform, 'WebhookRole');
    expect(may(webhook, ['dynamodb:GetItem'], TENANTS, leading('TENANTS'))).toEqual([true]);
    expect(
      may(webhook, ['dynamodb:Query', 'dynamodb:Scan', ...ITEM_WRITES], TENANTS, leading('TENANTS')),
    ).toEqual(Array(6).fill(false));
  });

  it("the webhook role reads a dedicated tenant's job record under its key: Decrypt only, through DynamoDB only, tagged keys only", () => {
    const webhook = role(platform, 'WebhookRole');
    const key = `arn:aws:kms:${region}:${account}:key/5f1b2c3d-0000-4000-8000-00000000abcd`;
    const tagged = { [`aws:ResourceTag/${TENANT_TAG}`]: 'acme' };
    const via = (service: string) => ({ 'kms:ViaService': `${service}.${region}.amazonaws.com` });
    expect(may(webhook, ['dynamodb:GetItem'], tableArn(dedicatedTableName(parseTenantId('acme'))))).toEqual([
      true,
    ]);
    expect(
      may(webhook, ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:Encrypt'], key, {
        ...tagged,
        ...via('dynamodb'),
      }),
    ).toEqual([true, false, false]);
    expect(may(webhook, ['kms:Decrypt'], key, via('dynamodb'))).toEqual([false]);
    expect(may(webhook, ['kms:Decrypt'], key, { ...tagged, ...via('s3') })).toEqual([false]);
    expect(may(webhook, ['kms:Decrypt'], key, tagged)).toEqual([false]);
  });

  it('no platform table falls under the dedicated tables that the API, webhook and deployer roles are granted', () => {
    const tables = Object.values(platform.template.Resources)
      .filter((r) => r.Type === 'AWS::DynamoDB::Table')
      .map((r) => String(r.Properties?.TableName));
    expect(tables).toEqual(
      expect.arrayContaining([names.tenantsTable, names.tenantViewsTable, names.dedupTable]),
    );
    const dedicated = `${dedicatedTableName(parseTenantId('acme')).replace(/acme$/, '')}`;
    for (const table of tables) expect(table.startsWith(dedicated), table).toBe(false);
  });
});

describe('objects (S3)', () => {
  const object = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;
  const OBJECT_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];

  it("the API role's dedicated-bucket grant covers tenant objects of dedicated buckets, not the shared bucket's other keys", () => {
    const api = role(platform, 'ApiRole');
    const acme = dedicatedBucketName(parseTenantId('acme'), account, region);
    expect(may(api, OBJECT_ACTIONS, object(acme, 'tenants/acme/jobs/j1/workbook.xlsx'))).toEqual([
      true,
      true,
      true,
    ]);
    const shared = bucketName('SharedBucket');
    expect(may(api, OBJECT_ACTIONS, object(shared, 'tenants/a1/x'))).toEqual([true, true, true]);
    expect(may(api, OBJECT_ACTIONS, object(shared, 'operator/notes.txt'))).toEqual([false, false, false]);
  });

  it('the API role reaches nothing in the log bucket', () => {
    const api = role(platform, 'ApiRole');
    const logs = bucketName('AccessLogs');
    expect(
      may(api, [...OBJECT_ACTIONS, 's3:DeleteObjectVersion'], object(logs, 'shared/2026-01-01-00-00-00')),
    ).toEqual([false, false, false, false]);
    expect(
      may(api, ['s3:ListBucket', 's3:ListBucketVersions'], `arn:aws:s3:::${logs}`, { 's3:prefix': '' }),
    ).toEqual([false, false]);
  });

  it('the API role lists the shared bucket under tenants/ and exports/ only', () => {
    const api = role(platform, 'ApiRole');
    const shared = `arn:aws:s3:::${bucketName('SharedBucket')}`;
    expect(may(api, ['s3:ListBucket'], shared, { 's3:prefix': 'tenants/a1/' })).toEqual([true]);
    expect(may(api, ['s3:ListBucket'], shared, { 's3:prefix': 'exports/a1/' })).toEqual([true]);
    expect(may(api, ['s3:ListBucket'], shared, { 's3:prefix': '' })).toEqual([false]);
    expect(may(api, ['s3:ListBucket'], shared)).toEqual([false]);
  });

  it('no platform bucket can take a dedicated bucket name, whatever the tenant id', () => {
    const pattern = new RegExp(`^silopool-.*-${account}-${region}$`);
    for (const id of ['acme', 'logs', 'platform', `t${randomUUID().slice(0, 8)}`, 'x'.repeat(63)]) {
      expect(dedicatedBucketName(parseTenantId(id), account, region)).toMatch(pattern);
    }
    for (const prefix of ['SharedBucket', 'AccessLogs']) expect(bucketName(prefix)).not.toMatch(pattern);
  });

  it('dedicated buckets log their access to the log bucket, which admits the logging service for dedicated buckets only', () => {
    const bucket = tenant.template.Resources[logicalId(tenant.template, 'AWS::S3::Bucket', 'Bucket')];
    expect(resolver(tenant.template, tenant.env)(bucket?.Properties?.LoggingConfiguration)).toEqual({
      DestinationBucketName: names.accessLogsBucket,
      LogFilePrefix: 'tenants/acme/',
    });
    const policyId = logicalId(platform.template, 'AWS::S3::BucketPolicy', 'AccessLogsPolicy');
    const policy = platform.template.Resources[policyId]!.Properties!.PolicyDocument as {
      Statement: unknown[];
    };
    const resolve = (s: unknown) => JSON.stringify(s);
    const forTenants = policy.Statement.map(resolve).filter((s) => s.includes('/tenants/*'));
    expect(forTenants).toHaveLength(1);
    expect(forTenants[0]).toContain('logging.s3.amazonaws.com');
    expect(forTenants[0]).toContain(`-${account}-${region}`);
  });
});

describe("buckets of the platform's names in another account", () => {
  // Bucket names are global: anyone may make `silopool-acme-{account}-{region}` in an account of their own
  // (before a promotion, or once an offboarding freed it), with a policy that lets every principal in. A
  // grant by name alone then reaches that bucket: our tenant data written there, its objects read as ours.
  const STRANGER = '999988887777';
  const elsewhere = { 'aws:ResourceAccount': STRANGER };
  const acme = dedicatedBucketName(parseTenantId('acme'), account, region);
  const object = `arn:aws:s3:::${acme}/tenants/acme/jobs/j1/workbook.xlsx`;

  it("the API role reaches a dedicated bucket's objects in this account only", () => {
    const api = role(platform, 'ApiRole');
    const actions = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'];
    expect(may(api, actions, object)).toEqual([true, true, true]);
    expect(may(api, actions, object, elsewhere)).toEqual([false, false, false]);
    expect(may(api, ['s3:ListBucket'], `arn:aws:s3:::${acme}`)).toEqual([true]);
    expect(may(api, ['s3:ListBucket'], `arn:aws:s3:::${acme}`, elsewhere)).toEqual([false]);
  });

  it("the notifications role reads and writes users' settings in this account's buckets only", () => {
    const notifications = role(platform, 'UserNotificationsRole');
    const settings = `arn:aws:s3:::${acme}/tenants/acme/notifications/users/u.json`;
    const bucket = `arn:aws:s3:::${acme}`;
    expect(may(notifications, ['s3:GetObject', 's3:PutObject'], settings)).toEqual([true, true]);
    expect(may(notifications, ['s3:GetObject', 's3:PutObject'], settings, elsewhere)).toEqual([false, false]);
    const list = { 's3:prefix': 'tenants/acme/notifications/users/' };
    expect(may(notifications, ['s3:ListBucket'], bucket, list)).toEqual([true]);
    expect(may(notifications, ['s3:ListBucket'], bucket, { ...list, ...elsewhere })).toEqual([false]);
  });

  it("the control plane empties this account's dedicated buckets only (before it deletes a stack)", () => {
    const deployer = role(platform, 'ApiRole');
    const version = `arn:aws:s3:::${acme}/tenants/acme/x`;
    expect(may(deployer, ['s3:ListBucketVersions'], `arn:aws:s3:::${acme}`)).toEqual([true]);
    expect(may(deployer, ['s3:DeleteObjectVersion'], version)).toEqual([true]);
    expect(may(deployer, ['s3:ListBucketVersions'], `arn:aws:s3:::${acme}`, elsewhere)).toEqual([false]);
    expect(may(deployer, ['s3:DeleteObjectVersion'], version, elsewhere)).toEqual([false]);
  });
});

describe('keys (KMS): the deployer role', () => {
  const KEY = `arn:aws:kms:${region}:${account}:key/5f1b2c3d-0000-4000-8000-00000000abcd`;
  const tagged = { [`aws:ResourceTag/${TENANT_TAG}`]: 'acme' };

  it('manages key policies, rotation and tags of tenant-tagged keys only', () => {
    const deployer = role(platform, 'TenantProvisioningDeployerRole');
    const actions = [
      'kms:PutKeyPolicy',
      'kms:GetKeyPolicy',
      'kms:EnableKeyRotation',
      'kms:TagResource',
      'kms:DescribeKey',
    ];
    expect(may(deployer, actions, KEY, tagged)).toEqual(Array(5).fill(true));
    expect(may(deployer, actions, KEY)).toEqual(Array(5).fill(false));
  });

  it('creates keys only with the tenant tag on the request', () => {
    const deployer = role(platform, 'TenantProvisioningDeployerRole');
    expect(may(deployer, ['kms:CreateKey'], '*', { [`aws:RequestTag/${TENANT_TAG}`]: 'acme' })).toEqual([
      true,
    ]);
    expect(may(deployer, ['kms:CreateKey'], '*')).toEqual([false]);
  });

  it('uses keys through DynamoDB, SQS and S3 only for tenant-tagged keys', () => {
    const deployer = role(platform, 'TenantProvisioningDeployerRole');
    const via = { 'kms:ViaService': `dynamodb.${region}.amazonaws.com` };
    expect(may(deployer, ['kms:CreateGrant', 'kms:Decrypt'], KEY, { ...via, ...tagged })).toEqual([
      true,
      true,
    ]);
    expect(may(deployer, ['kms:CreateGrant', 'kms:Decrypt'], KEY, via)).toEqual([false, false]);
  });

  it('points tenant aliases only at tenant-tagged keys, and never acts on every key unconditioned', () => {
    const deployer = role(platform, 'TenantProvisioningDeployerRole');
    const alias = `arn:aws:kms:${region}:${account}:alias/silopool/tenant/acme`;
    expect(may(deployer, ['kms:CreateAlias'], alias)).toEqual([true]);
    expect(may(deployer, ['kms:CreateAlias', 'kms:UpdateAlias'], KEY)).toEqual([false, false]);
    expect(may(deployer, ['kms:CreateAlias'], KEY, tagged)).toEqual([true]);
    const bare = deployer.filter(
      (s) => [s.Resource].flat().some((r) => r === '*' || String(r).endsWith(':key/*')) && !s.Condition,
    );
    expect(bare.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('kms:'))).toEqual([
      'kms:ListAliases',
    ]);
  });
});

describe('sign-in and acknowledgements', () => {
  it('Cognito users cannot write custom:tenants: the app client writes standard attributes only', () => {
    const id = logicalId(platform.template, 'AWS::Cognito::UserPoolClient', 'UsersWebClient');
    const client = platform.template.Resources[id]!.Properties!;
    const write = client.WriteAttributes as string[];
    expect(write.length).toBeGreaterThan(0);
    expect(write.filter((a) => a.startsWith('custom:'))).toEqual([]);
    expect(client.ReadAttributes).toEqual(expect.arrayContaining(['custom:tenants']));
  });

  it('no cdk-nag acknowledgement cites a control the app does not create', () => {
    const reasons = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .map((m) => JSON.stringify(m.data));
    expect(reasons.length).toBeGreaterThan(10);
    const trails = [platform.template, tenant.template].flatMap((t) =>
      Object.values(t.Resources).filter((r) => r.Type === 'AWS::CloudTrail::Trail'),
    );
    if (trails.length === 0) expect(reasons.filter((r) => /cloudtrail/i.test(r))).toEqual([]);
    // Every bucket logs its access: no acknowledgement of missing access logs is needed.
    expect(reasons.filter((r) => r.includes('AwsSolutions-S1'))).toEqual([]);
  });
});

describe('tenant views on the emulators', () => {
  let aws: AwsEmulators;
  beforeAll(async () => {
    aws = await startAwsEmulators();
  }, 60_000);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await aws?.stop();
  });

  function secretTenant(): Tenant {
    const now = new Date().toISOString();
    const id = parseTenantId(`v${randomUUID().slice(0, 8)}`);
    return {
      id,
      name: 'Views',
      status: 'active',
      placement: 'shared',
      plan: 'standard',
      config: {
        ...emptyConfig(),
        webhook: { url: 'https://hooks.example.com/x', secret: `whsec_${randomUUID()}` },
      },
      apiKeys: [{ id: 'k1', hash: randomUUID().replaceAll('-', ''), createdAt: now }],
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
  }

  it('hold no key hash and no webhook secret; the directory itself keeps both', async () => {
    const [tenantsTable, viewsTable] = await Promise.all([
      aws.createTable('tenants'),
      aws.createTable('views'),
    ]);
    const directory = createDynamoTenantDirectory({
      client: aws.dynamo,
      tableName: tenantsTable,
      viewsTableName: viewsTable,
    });
    const t = secretTenant();
    await directory.create(t);
    await directory.update({ ...t, name: 'Renamed' }, 1);
    const stored = JSON.stringify((await aws.dynamo.send(new ScanCommand({ TableName: viewsTable }))).Items);
    expect(stored).toContain('Renamed');
    expect(stored).not.toContain(t.apiKeys[0]!.hash);
    expect(stored).not.toContain(t.config.webhook!.secret);
    expect((await directory.get(t.id))?.apiKeys[0]?.hash).toBe(t.apiKeys[0]!.hash);
    await directory.delete(t.id);
    expect((await aws.dynamo.send(new ScanCommand({ TableName: viewsTable }))).Items).toEqual([]);
  });

  it("are what the model function's handler reads on AWS: placement and webhook URL, no secret", async () => {
    const env = await aws.platformEnv();
    const t = secretTenant();
    await createDynamoTenantDirectory({
      client: aws.dynamo,
      tableName: env.SILOPOOL_TENANTS_TABLE!,
      viewsTableName: env.SILOPOOL_TENANT_VIEWS_TABLE!,
    }).create(t);
    // The SDK reads credentials from the process environment, as on Lambda.
    vi.stubEnv('AWS_ACCESS_KEY_ID', env.AWS_ACCESS_KEY_ID);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', env.AWS_SECRET_ACCESS_KEY);
    const deps = await createHandlerDeps({ env });
    const seen = await deps.directory.get(t.id);
    expect(seen).toMatchObject({ id: t.id, placement: 'shared', apiKeys: [] });
    expect(seen?.config.webhook).toEqual({ url: t.config.webhook!.url, secret: '' });
  });

  it('never go back to an older version, and a sweep repairs one a stopped write left behind', async () => {
    const [tenantsTable, viewsTable] = await Promise.all([
      aws.createTable('tenants'),
      aws.createTable('views'),
    ]);
    const directory = createDynamoTenantDirectory({
      client: aws.dynamo,
      tableName: tenantsTable,
      viewsTableName: viewsTable,
    });
    const views = createTenantViews({ client: aws.dynamo, tableName: viewsTable });
    const t = secretTenant();
    await directory.create(t);
    const v2 = await directory.update({ ...t, placement: 'dedicated' }, 1);
    await views.write(t);
    expect(await views.version(t.id)).toBe(2);
    await views.remove(t.id);
    expect(await repairTenantViews(directory, views)).toBe(1);
    expect(await views.version(t.id)).toBe(v2.version);
    expect(await repairTenantViews(directory, views)).toBe(0);
  });
});
