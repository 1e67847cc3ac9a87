import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../infra/config.ts';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { contractRegionTenantStack, ENV, testConfig } from './support.ts';

// A platform in us-east-1 configured for dedicated tenants in eu-west-1 (contract regions): its roles name
// that Region, and only it, wherever tenant stacks' resources are; a tenant stack deployed there reaches the
// platform's resources in us-east-1.
const CONTRACT = 'eu-west-1';

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Every ARN and condition value of a template, as text with pseudo parameters as `<name>`. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(text).join(' ');
  if (!value || typeof value !== 'object') return String(value);
  const node = value as Record<string, unknown>;
  if ('Ref' in node) return `<${node.Ref}>`;
  if ('Fn::GetAtt' in node) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(text).join(separator);
  }
  return Object.values(node).map(text).join(' ');
}

/** A role's statements, its overflow managed policies' included (CDK moves statements there past a size). */
function policiesOf(template: Template, prefix: string): Statement[] {
  return Object.entries({
    ...template.findResources('AWS::IAM::Policy'),
    ...template.findResources('AWS::IAM::ManagedPolicy'),
  })
    .filter(([id]) => id.startsWith(prefix))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (s: Statement) => [s.Action].flat();
const resourcesOf = (s: Statement) => [s.Resource].flat().map(text);

function synth(contractRegions?: string[]): Template {
  const app = new App();
  const config = testConfig(contractRegions ? { contractRegions } : {});
  return Template.fromStack(new PlatformStack(app, 'platform', { env: ENV, config }));
}

describe('PlatformStack with contract regions', () => {
  let template: Template;
  let plain: Template;
  beforeAll(() => {
    template = synth([CONTRACT]);
    plain = synth();
  });

  it('lets the control plane deploy tenant stacks in the platform Region and the configured ones only', () => {
    const api = policiesOf(template, 'ApiRole');
    const create = api.find((s) => actionsOf(s).includes('cloudformation:CreateStack'));
    expect(resourcesOf(create!)).toEqual([
      'arn:<AWS::Partition>:cloudformation:us-east-1:111122223333:stack/silopool-tenant-*/*',
      `arn:<AWS::Partition>:cloudformation:${CONTRACT}:111122223333:stack/silopool-tenant-*/*`,
    ]);
    // Its data plane reaches the tenants' queues, tables and buckets there.
    const arns = api.flatMap(resourcesOf);
    expect(arns).toContain(`arn:<AWS::Partition>:sqs:${CONTRACT}:111122223333:tenant_*`);
    expect(arns).toContain(`arn:<AWS::Partition>:dynamodb:${CONTRACT}:111122223333:table/silopool-tenant-*`);
    expect(arns).toContain(`arn:<AWS::Partition>:s3:::silopool-*-111122223333-${CONTRACT}/tenants/*`);
    // It copies model bundles into that Region's code bucket, and nowhere else.
    const copy = api.find((s) => actionsOf(s).join() === 's3:GetObject,s3:PutObject');
    expect(resourcesOf(copy!).every((arn) => arn.includes(`-us-east-1-${CONTRACT}/`))).toBe(true);
    // No Region wildcard anywhere: every Region is named.
    for (const arn of arns) expect(arn).not.toMatch(/^arn:[^:]+:[a-z0-9-]+:\*:/);
    for (const fn of ['ApiFunction', 'ControlFunction']) {
      const [definition] = Object.entries(template.findResources('AWS::Lambda::Function'))
        .filter(([id]) => id.startsWith(fn))
        .map(([, d]) => d);
      expect(definition?.Properties.Environment.Variables.SILOPOOL_CONTRACT_REGIONS).toBe(CONTRACT);
    }
  });

  it("lets CloudFormation's deployer role make tenant resources and read their code in that Region", () => {
    const deployer = policiesOf(template, 'TenantProvisioningDeployerRole');
    const all = deployer.flatMap(resourcesOf);
    for (const service of ['sqs', 'dynamodb', 'lambda', 'logs', 'kms', 'cloudwatch'])
      expect(all.some((arn) => arn.startsWith(`arn:<AWS::Partition>:${service}:${CONTRACT}:`))).toBe(true);
    const code = deployer.filter((s) => actionsOf(s).join() === 's3:GetObject').flatMap(resourcesOf);
    expect(code.some((arn) => arn.includes(`-us-east-1-${CONTRACT}/`))).toBe(true);
    const via = deployer.find((s) => s.Condition?.StringEquals?.['kms:ViaService']);
    expect(text(via?.Condition?.StringEquals?.['kms:ViaService'])).toContain(
      `dynamodb.${CONTRACT}.<AWS::URLSuffix>`,
    );
  });

  it('names no contract Region when none is configured', () => {
    expect(JSON.stringify(plain.toJSON())).not.toContain(CONTRACT);
  });

  it('refuses a contract Region that is not a Region name (no wildcard)', () => {
    expect(() => readConfig({ contractRegions: ['*'] }, ['finance'])).toThrow(/not an AWS Region name/);
    expect(readConfig({ contractRegions: 'eu-west-1, eu-central-1' }, ['finance']).contractRegions).toEqual([
      'eu-west-1',
      'eu-central-1',
    ]);
  });
});

describe('the tenant template in a contract Region', () => {
  const resources = contractRegionTenantStack(CONTRACT);
  const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

  it("reaches the platform's views, dedup table and announcement queues in the platform's Region", () => {
    const [policy] = ofType('AWS::IAM::Policy');
    const statements = (policy!.Properties!.PolicyDocument as { Statement: Statement[] }).Statement;
    const send = statements.find((s) => actionsOf(s).includes('sqs:SendMessage'));
    expect(resourcesOf(send!).every((arn) => arn.includes(':sqs:us-east-1:'))).toBe(true);
    const tables = statements.filter((s) => s.Condition?.['ForAllValues:StringEquals']).flatMap(resourcesOf);
    expect(tables, JSON.stringify(tables)).toEqual([
      'arn:<AWS::Partition>:dynamodb:us-east-1:<AWS::AccountId>:table/silopool-views',
      'arn:<AWS::Partition>:dynamodb:us-east-1:<AWS::AccountId>:table/silopool-dedup',
    ]);
    const [fn] = ofType('AWS::Lambda::Function');
    const env = (fn!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.SILOPOOL_REGION).toBe('us-east-1');
    expect(text(env.SILOPOOL_QUEUE_URL_PREFIX)).toContain('https://sqs.us-east-1.');
  });

  it('logs its bucket and notifies from its alarms only in the platform Region', () => {
    const [bucket] = ofType('AWS::S3::Bucket');
    expect(bucket?.Properties?.LoggingConfiguration).toMatchObject({
      'Fn::If': ['InPlatformRegion', expect.anything(), { Ref: 'AWS::NoValue' }],
    });
    for (const alarm of ofType('AWS::CloudWatch::Alarm'))
      expect(alarm.Properties?.AlarmActions).toMatchObject({
        'Fn::If': ['InPlatformRegion', expect.anything(), { Ref: 'AWS::NoValue' }],
      });
  });
});
