import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TenantStack } from '../../infra/tenant-stack.ts';
import { tenantAlarmNames } from '../../src/adapters/aws/naming.ts';
import { TENANT_STACK_PARAMETERS, TENANT_TAG } from '../../src/adapters/aws/tenant-stack.ts';
import type { TenantId } from '../../src/core/ids.ts';
import {
  type CfnResource,
  type CfnTemplate,
  ENV,
  instantiate,
  resourcesOfType,
  stubCode,
} from './support.ts';

let app: App;
let template: Template;
/** The stack as `cdk deploy silopool-tenant-acme` creates it: every parameter at its default. */
let deployed: Record<string, CfnResource>;

beforeAll(() => {
  app = new App();
  template = Template.fromStack(
    new TenantStack(app, 'silopool-tenant-acme', {
      env: ENV,
      tenant: { id: 'acme', reservedConcurrency: 3, memoryMb: 2048, timeoutSec: 120 },
      models: ['finance', 'funds'],
      code: stubCode(),
    }),
  );
  deployed = instantiate(template.toJSON() as CfnTemplate);
});

describe('TenantStack for one tenant (cdk deploy)', () => {
  it('declares the template parameters but the code ones, defaulting to the tenant values', () => {
    const parameters = template.toJSON().Parameters as CfnTemplate['Parameters'];
    const { codeBucket, codeKey, ...declared } = TENANT_STACK_PARAMETERS;
    // BootstrapVersion is CDK's own, for `cdk deploy`.
    const names = Object.keys(parameters ?? {}).filter((name) => name !== 'BootstrapVersion');
    expect(names.sort()).toEqual(Object.values(declared).sort());
    expect(parameters).not.toHaveProperty(codeBucket);
    expect(parameters).not.toHaveProperty(codeKey);
    expect(parameters?.TenantId?.Default).toBe('acme');
    expect(parameters?.QueueVisibilityTimeoutSec?.Default).toBe(720);
  });

  it("has the tenant's queues and dead-letter queues, named as placement names them, encrypted with its key", () => {
    const queues = resourcesOfType(deployed, 'AWS::SQS::Queue').map((q) => q.Properties);
    for (const model of ['finance', 'funds']) {
      expect(queues).toContainEqual(
        expect.objectContaining({
          QueueName: `tenant_acme_${model}`,
          KmsMasterKeyId: expect.anything(),
          VisibilityTimeout: 720,
          RedrivePolicy: expect.objectContaining({ maxReceiveCount: 5 }),
        }),
      );
      expect(queues).toContainEqual(expect.objectContaining({ QueueName: `tenant_acme_${model}-dlq` }));
    }
  });

  it('runs its functions with reserved concurrency and partial batch responses', () => {
    const functions = resourcesOfType(deployed, 'AWS::Lambda::Function').map((f) => f.Properties);
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn).toMatchObject({
        Runtime: 'nodejs22.x',
        ReservedConcurrentExecutions: 3,
        MemorySize: 2048,
        Timeout: 120,
        Environment: { Variables: expect.objectContaining({ SILOPOOL_TENANT_ID: 'acme' }) },
      });
    }
    template.resourcePropertiesCountIs(
      'AWS::Lambda::EventSourceMapping',
      { FunctionResponseTypes: ['ReportBatchItemFailures'] },
      2,
    );
  });

  it('caps each event source at the reserved concurrency, so throttled batches cannot use up receives', () => {
    // A poller invoking beyond the reservation is throttled, and the batch goes back counting a receive:
    // AWS's guidance is a mapping maximum no larger than the reserved concurrency, and maxReceiveCount ≥ 5.
    const mappings = resourcesOfType(deployed, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings)
      expect(mapping.Properties?.ScalingConfig).toEqual({ MaximumConcurrency: 3 });
    for (const queue of resourcesOfType(deployed, 'AWS::SQS::Queue')) {
      const redrive = queue.Properties?.RedrivePolicy as { maxReceiveCount?: number } | undefined;
      if (redrive) expect(redrive.maxReceiveCount).toBeGreaterThanOrEqual(5);
    }
    // The template's parameter cannot go below the mapping's minimum of 2.
    expect(template.toJSON().Parameters.ReservedConcurrency.MinValue).toBe(2);
  });

  it('has its own table and bucket, both encrypted with its own rotating KMS key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const [table] = resourcesOfType(deployed, 'AWS::DynamoDB::Table');
    expect(table?.Properties).toMatchObject({
      TableName: 'silopool-tenant-acme',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: expect.anything() },
    });
    const [bucket] = resourcesOfType(deployed, 'AWS::S3::Bucket');
    expect(bucket?.Properties).toMatchObject({
      BucketName: 'silopool-acme-111122223333-us-east-1',
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          expect.objectContaining({
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: expect.anything() },
          }),
        ],
      },
    });
    const [alias] = resourcesOfType(deployed, 'AWS::KMS::Alias');
    expect(alias?.Properties?.AliasName).toBe('alias/silopool/tenant/acme');
  });

  it('deletes its table, bucket and key with the stack: the control plane moved or exported the data first', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::KMS::Key']) {
      template.hasResource(type, { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
      template.resourceCountIs(type, 1);
    }
    template.hasResourceProperties('AWS::KMS::Key', { PendingWindowInDays: 7 });
  });

  it('tags the stack and its resources with the tenant', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      Tags: Match.arrayWith([{ Key: TENANT_TAG, Value: { Ref: 'TenantId' } }]),
    });
    expect(app.synth().getStackByName('silopool-tenant-acme').tags).toEqual({ [TENANT_TAG]: 'acme' });
  });

  it('has its own dashboard showing its TenantId metrics', () => {
    const [dashboard] = resourcesOfType(deployed, 'AWS::CloudWatch::Dashboard');
    expect(dashboard?.Properties?.DashboardName).toBe('silopool-tenant-acme');
    expect(JSON.stringify(dashboard?.Properties?.DashboardBody)).toContain('\\"TenantId\\",\\"acme\\"');
  });

  it("alarms on its job failure rate and each lane's dead letters, named by tenantAlarmNames for the upgrade", () => {
    const alarms = resourcesOfType(deployed, 'AWS::CloudWatch::Alarm').map((a) => a.Properties ?? {});
    const names = tenantAlarmNames('acme' as TenantId, ['finance', 'funds']);
    expect(names.jobFailures).toBe('silopool-tenant-acme/job-failures');
    const failures = alarms.find((a) => a.AlarmName === names.jobFailures);
    // The embedded SilopoolJobFailureRate rule: above 10 % of at least 5 jobs in 15 minutes, per tenant.
    expect(failures).toMatchObject({ Threshold: 0.1, ComparisonOperator: 'GreaterThanThreshold' });
    const metrics = failures?.Metrics as { Expression?: string; MetricStat?: Record<string, unknown> }[];
    expect(metrics.find((m) => m.Expression)?.Expression).toBe(
      'IF(failed + succeeded >= 5, failed / (failed + succeeded), 0)',
    );
    for (const metric of metrics.filter((m) => m.MetricStat)) {
      expect(metric.MetricStat).toMatchObject({
        Period: 900,
        Stat: 'Sum',
        Metric: {
          Namespace: 'Silopool',
          Dimensions: expect.arrayContaining([{ Name: 'TenantId', Value: 'acme' }]),
        },
      });
    }
    for (const model of ['finance', 'funds']) {
      const deadLetters = alarms.find((a) => a.AlarmName === names.deadLetters[model]);
      expect(deadLetters).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Threshold: 1,
      });
      expect(deadLetters?.Dimensions).toEqual([
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [expect.stringMatching(/DeadLetterQueue/), 'QueueName'] },
        },
      ]);
    }
  });
});
