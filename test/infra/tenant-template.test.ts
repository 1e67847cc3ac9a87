import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, DefaultStackSynthesizer, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { TenantStack } from '../../infra/tenant-stack.ts';
import { synthesizeTenantTemplate } from '../../infra/tenant-template.ts';
import { dedicatedBucketName, dedicatedTableName } from '../../src/adapters/aws/naming.ts';
import {
  TENANT_STACK_PARAMETERS,
  TENANT_TAG,
  type TenantStackInput,
  tenantStackParameters,
} from '../../src/adapters/aws/tenant-stack.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { dedicatedQueueName } from '../../src/core/placement.ts';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import { type CfnTemplate, instantiate, resourcesOfType, validationReport } from './support.ts';

const MODELS = ['finance', 'funds'];
const ref = (name: string) => ({ Ref: name });

let template: CfnTemplate;

function sample(tenantId: string, patch: Partial<TenantStackInput> = {}): TenantStackInput {
  return {
    tenantId: tenantId as TenantId,
    settings: { reservedConcurrency: 3, memoryMb: 2048, timeoutSec: 120 },
    account: '444455556666',
    region: 'eu-west-1',
    code: { bucket: 'cdk-assets-444455556666-eu-west-1', key: 'model-0123abcd.zip' },
    ...patch,
  };
}

beforeAll(() => {
  template = synthesizeTenantTemplate(MODELS) as CfnTemplate;
});

describe('the tenant template the control plane instantiates', () => {
  it('has exactly the parameters of the contract, and the control plane passes exactly those', () => {
    const names = new Set(Object.values(TENANT_STACK_PARAMETERS));
    expect(new Set(Object.keys(template.Parameters ?? {}))).toEqual(names);
    expect(new Set(Object.keys(tenantStackParameters(sample('acme'))))).toEqual(names);
    // No defaults: every value comes from the control plane.
    for (const parameter of Object.values(template.Parameters ?? {}))
      expect(parameter.Default).toBeUndefined();
  });

  it("accepts the values the control plane passes, within each parameter's constraints", () => {
    const parameters = template.Parameters ?? {};
    const longId = `t-${'x'.repeat(61)}`;
    for (const input of [
      sample('acme'),
      sample(longId),
      sample('a1', { settings: { reservedConcurrency: 2, memoryMb: 10240, timeoutSec: 900 } }),
    ]) {
      for (const [name, value] of Object.entries(tenantStackParameters(input))) {
        const constraints = parameters[name] as {
          AllowedPattern?: string;
          MaxLength?: number;
          MinValue?: number;
          MaxValue?: number;
        };
        // CloudFormation matches AllowedPattern against the whole value.
        if (constraints.AllowedPattern)
          expect(value).toMatch(new RegExp(`^(?:${constraints.AllowedPattern})$`));
        if (constraints.MaxLength !== undefined)
          expect(value.length).toBeLessThanOrEqual(constraints.MaxLength);
        if (constraints.MinValue !== undefined)
          expect(Number(value)).toBeGreaterThanOrEqual(constraints.MinValue);
        if (constraints.MaxValue !== undefined)
          expect(Number(value)).toBeLessThanOrEqual(constraints.MaxValue);
      }
    }
    expect('-bad').not.toMatch(new RegExp(`^(?:${parameters.TenantId?.AllowedPattern})$`));
    expect(parameters.QueueVisibilityTimeoutSec).toMatchObject({
      Type: 'Number',
      MinValue: 0,
      MaxValue: 43200,
    });
    expect(parameters.ReservedConcurrency).toMatchObject({ Type: 'Number', MinValue: 2, MaxValue: 1000 });
    expect(parameters.MemoryMb).toMatchObject({ Type: 'Number', MinValue: 128, MaxValue: 10240 });
    expect(parameters.TimeoutSec).toMatchObject({ Type: 'Number', MinValue: 1, MaxValue: 900 });
  });

  it('builds every name from the parameters', () => {
    const resources = template.Resources;
    const [table] = resourcesOfType(resources, 'AWS::DynamoDB::Table');
    expect(table?.Properties?.TableName).toEqual(ref('TableName'));
    const [bucket] = resourcesOfType(resources, 'AWS::S3::Bucket');
    expect(bucket?.Properties?.BucketName).toEqual(ref('BucketName'));
    const queues = resourcesOfType(resources, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(MODELS.length * 2);
    for (const queue of queues) {
      expect(queue.Properties?.QueueName).toEqual({
        'Fn::Join': ['', expect.arrayContaining([ref('TenantId')])],
      });
    }
    const [alias] = resourcesOfType(resources, 'AWS::KMS::Alias');
    expect(JSON.stringify(alias?.Properties?.AliasName)).toContain('{"Ref":"TenantId"}');
    const [dashboard] = resourcesOfType(resources, 'AWS::CloudWatch::Dashboard');
    expect(JSON.stringify(dashboard?.Properties?.DashboardName)).toContain('{"Ref":"TenantId"}');
    for (const fn of resourcesOfType(resources, 'AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({
        Code: { S3Bucket: ref('CodeBucket'), S3Key: ref('CodeKey') },
        MemorySize: ref('MemoryMb'),
        Timeout: ref('TimeoutSec'),
        ReservedConcurrentExecutions: ref('ReservedConcurrency'),
        Environment: { Variables: expect.objectContaining({ SILOPOOL_TENANT_ID: ref('TenantId') }) },
      });
    }
  });

  it("instantiated with a tenant's values, names its resources as the runtime finds them", () => {
    const input = sample('globex');
    const resources = instantiate(template, tenantStackParameters(input));
    const names = (type: string, property: string) =>
      resourcesOfType(resources, type).map((r) => r.Properties?.[property]);
    const queues = MODELS.map((m) => dedicatedQueueName(input.tenantId, m));
    expect(names('AWS::SQS::Queue', 'QueueName').sort()).toEqual(
      [...queues, ...queues.map(deadLetterQueueName)].sort(),
    );
    expect(names('AWS::SQS::Queue', 'VisibilityTimeout')).toContain(720);
    expect(names('AWS::DynamoDB::Table', 'TableName')).toEqual([dedicatedTableName(input.tenantId)]);
    expect(names('AWS::S3::Bucket', 'BucketName')).toEqual([
      dedicatedBucketName(input.tenantId, input.account, input.region),
    ]);
    expect(names('AWS::KMS::Alias', 'AliasName')).toEqual(['alias/silopool/tenant/globex']);
    expect(names('AWS::CloudWatch::Dashboard', 'DashboardName')).toEqual(['silopool-tenant-globex']);
    for (const fn of resourcesOfType(resources, 'AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({
        Code: { S3Bucket: input.code.bucket, S3Key: input.code.key },
        MemorySize: 2048,
        Timeout: 120,
        ReservedConcurrentExecutions: 3,
      });
    }
    expect(names('AWS::DynamoDB::Table', 'Tags')).toEqual([
      expect.arrayContaining([{ Key: TENANT_TAG, Value: 'globex' }]),
    ]);
  });

  it('references no CDK asset or bootstrap resource, and only Ref, Fn::Join, Fn::GetAtt and Fn::If', () => {
    const text = JSON.stringify(template);
    expect(text).not.toContain('cdk-hnb659fds');
    expect(text).not.toContain('BootstrapVersion');
    expect(text).not.toContain('aws:asset');
    expect(template).not.toHaveProperty('Rules');
    // Two conditions: the optional per-tenant dashboard, and whether the stack is in the platform's Region
    // (a contract Region's bucket cannot log to the platform's log bucket, nor its alarms notify its topic).
    expect(template.Conditions).toEqual({
      WithDashboard: { 'Fn::Equals': [ref('TenantDashboard'), 'true'] },
      InPlatformRegion: { 'Fn::Equals': [ref('PlatformRegion'), ref('AWS::Region')] },
    });
    const [dashboard] = resourcesOfType(template.Resources, 'AWS::CloudWatch::Dashboard');
    expect(dashboard?.Condition).toBe('WithDashboard');
    const intrinsics = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'Ref' || key.startsWith('Fn::')) intrinsics.add(key);
          walk(value);
        }
      }
    };
    walk(template.Resources);
    expect([...intrinsics].sort()).toEqual(['Fn::GetAtt', 'Fn::If', 'Fn::Join', 'Ref']);
  });

  it('deletes table, bucket and key with the stack (the key after 7 days)', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::KMS::Key']) {
      const [resource] = resourcesOfType(template.Resources, type);
      expect(resource).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    }
    const [key] = resourcesOfType(template.Resources, 'AWS::KMS::Key');
    expect(key?.Properties?.PendingWindowInDays).toBe(7);
  });

  it('passes cdk-nag and CloudFormation validation with no unacknowledged finding', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-template-'));
    const app = new App({ outdir });
    new TenantStack(app, 'template', {
      template: true,
      models: MODELS,
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    expect(() => app.synth()).not.toThrow();
    const report = validationReport(outdir);
    expect(report.pluginReports.flatMap((r) => r.violations)).toEqual([]);
  });
});
