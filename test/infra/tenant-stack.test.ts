import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TenantStack } from '../../infra/tenant-stack.ts';
import { ENV, stubCode } from './support.ts';

let template: Template;

beforeAll(() => {
  const app = new App();
  template = Template.fromStack(
    new TenantStack(app, 'silopool-tenant-acme', {
      env: ENV,
      tenant: { id: 'acme', reservedConcurrency: 3, memoryMb: 2048, timeoutSec: 120 },
      models: ['finance', 'funds'],
      code: stubCode(),
    }),
  );
});

describe('TenantStack', () => {
  it("has the tenant's queues and dead-letter queues, named as placement names them, encrypted with its key", () => {
    for (const model of ['finance', 'funds']) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `tenant_acme_${model}`,
        KmsMasterKeyId: Match.anyValue(),
        RedrivePolicy: Match.objectLike({ maxReceiveCount: 4 }),
      });
      template.hasResourceProperties('AWS::SQS::Queue', { QueueName: `tenant_acme_${model}-dlq` });
    }
  });

  it('runs its functions with reserved concurrency and partial batch responses', () => {
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Runtime: 'nodejs22.x', ReservedConcurrentExecutions: 3, MemorySize: 2048, Timeout: 120 },
      2,
    );
    template.resourcePropertiesCountIs(
      'AWS::Lambda::EventSourceMapping',
      { FunctionResponseTypes: ['ReportBatchItemFailures'] },
      2,
    );
  });

  it('has its own table and bucket, both encrypted with its own rotating KMS key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'silopool-tenant-acme',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'silopool-acme-111122223333-us-east-1',
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
          }),
        ],
      },
    });
  });

  it('has its own dashboard showing its TenantId metrics', () => {
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    expect(dashboard?.Properties.DashboardName).toBe('silopool-tenant-acme');
    expect(JSON.stringify(dashboard?.Properties.DashboardBody)).toContain('\\"TenantId\\",\\"acme\\"');
  });
});
