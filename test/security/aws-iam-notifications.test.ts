import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildInfra } from '../../infra/app.ts';
import { platformNames } from '../../infra/naming.ts';
import { dedicatedBucketName } from '../../src/adapters/aws/naming.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { ENV, testConfig } from '../infra/support.ts';
import {
  allows,
  type Template as CfnTemplate,
  type Environment,
  type IamRequest,
  type IamStatement,
  roleStatements,
} from '../support/iam-policy.ts';

// What the notification function's role may do, asked of the synthesized platform template with the names
// CloudFormation would give (test/support/iam-policy.ts evaluates the policies, conditions included).
const { account, region } = ENV;
const names = platformNames(account, region);
const table = (name: string) => `arn:aws:dynamodb:${region}:${account}:table/${name}`;
const queue = (name: string) => `arn:aws:sqs:${region}:${account}:${name}`;
const KEY = `arn:aws:kms:${region}:${account}:key/5f1b2c3d-0000-4000-8000-00000000abcd`;
let statements: IamStatement[];
let sharedBucket: string;

function may(actions: string[], resource: string, context?: IamRequest['context']): boolean[] {
  return actions.map((action) => allows(statements, { action, resource, ...(context ? { context } : {}) }));
}

beforeAll(() => {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-notify-iam-')) });
  const { platform } = buildInfra(app, testConfig(), ENV);
  const template = Template.fromStack(platform).toJSON() as CfnTemplate;
  const env: Environment = { account, region, stackName: platform.stackName };
  const [roleId] = Object.keys(template.Resources).filter(
    (id) => id.startsWith('UserNotificationsRole') && template.Resources[id]?.Type === 'AWS::IAM::Role',
  );
  statements = roleStatements(template, roleId!, env);
  const [bucketId] = Object.keys(template.Resources).filter(
    (id) => id.startsWith('SharedBucket') && template.Resources[id]?.Type === 'AWS::S3::Bucket',
  );
  sharedBucket = `${platform.stackName}-${bucketId}-1a2b3c4d`.toLowerCase();
}, 120_000);

describe('the notification function role', () => {
  it("reads and rewrites users' settings, and no other object of a tenant", () => {
    const dedicated = dedicatedBucketName(parseTenantId('acme'), account, region);
    for (const bucket of [sharedBucket, dedicated]) {
      const settings = `arn:aws:s3:::${bucket}/tenants/acme/notifications/users/0123abcd.json`;
      expect(may(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], settings)).toEqual([true, true, false]);
      const workbook = `arn:aws:s3:::${bucket}/tenants/acme/jobs/01J/workbook.xlsx`;
      expect(may(['s3:GetObject', 's3:PutObject'], workbook)).toEqual([false, false]);
      const list = (prefix: string) =>
        may(['s3:ListBucket'], `arn:aws:s3:::${bucket}`, { 's3:prefix': prefix });
      expect(list('tenants/acme/notifications/users/')).toEqual([true]);
      expect(list('tenants/acme/')).toEqual([false]);
    }
    expect(may(['s3:GetObject'], `arn:aws:s3:::${sharedBucket}/exports/op.zip`)).toEqual([false]);
  });

  it('gets views and job records by key, and nothing of the tenant directory', () => {
    expect(may(['dynamodb:GetItem'], table(names.tenantViewsTable))).toEqual([true]);
    expect(may(['dynamodb:GetItem'], table(names.sharedTable))).toEqual([true]);
    expect(may(['dynamodb:GetItem'], table('silopool-tenant-acme'))).toEqual([true]);
    expect(may(['dynamodb:GetItem', 'dynamodb:Query'], table(names.tenantsTable))).toEqual([false, false]);
    expect(may(['dynamodb:PutItem', 'dynamodb:Query'], table(names.sharedTable))).toEqual([false, false]);
  });

  it('sends to its own queue with its own dedup items, and to no other queue', () => {
    expect(may(['sqs:SendMessage'], queue('system_notifications'))).toEqual([true]);
    expect(may(['sqs:SendMessage'], queue('system_webhooks'))).toEqual([false]);
    expect(may(['sqs:SendMessage'], queue('shared_finance'))).toEqual([false]);
    const dedup = (pk: string) =>
      may(['dynamodb:PutItem'], table(names.dedupTable), { 'dynamodb:LeadingKeys': [pk] });
    expect(dedup('DEDUP#system_notifications')).toEqual([true]);
    expect(dedup('DEDUP#system_webhooks')).toEqual([false]);
  });

  it("decrypts with dedicated tenants' keys only through S3 and DynamoDB", () => {
    const tagged = { 'aws:ResourceTag/silopool:tenant': 'acme' };
    const viaS3 = { 'kms:ViaService': `s3.${region}.amazonaws.com` };
    expect(may(['kms:Decrypt'], KEY, { ...tagged, ...viaS3 })).toEqual([true]);
    expect(may(['kms:Decrypt'], KEY, viaS3)).toEqual([false]);
    expect(may(['kms:Decrypt'], KEY, { ...tagged, 'kms:ViaService': `sqs.${region}.amazonaws.com` })).toEqual(
      [false],
    );
    expect(may(['kms:Decrypt'], KEY, tagged)).toEqual([false]);
  });
});
