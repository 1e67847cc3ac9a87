import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildInfra } from '../../infra/app.ts';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { ENV, testConfig } from './support.ts';

let template: Template;

beforeAll(() => {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')) });
  template = Template.fromStack(new PlatformStack(app, 'platform', { env: ENV, config: testConfig() }));
});

describe('PlatformStack', () => {
  it('serves the API through an HTTP API with a Cognito JWT authorizer and public health/docs routes', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: Match.objectLike({ Issuer: Match.anyValue(), Audience: Match.anyValue() }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$default',
      AuthorizationType: 'JWT',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /healthz',
      AuthorizationType: 'NONE',
    });
    template.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { AccessLogSettings: Match.anyValue() });
  });

  it('accepts any OIDC issuer by configuration instead of Cognito', () => {
    const app = new App();
    const oidc = Template.fromStack(
      new PlatformStack(app, 'oidc', {
        env: ENV,
        config: testConfig({
          auth: { kind: 'oidc', issuer: 'https://login.example.com/', audience: ['silopool'] },
        }),
      }),
    );
    oidc.resourceCountIs('AWS::Cognito::UserPool', 0);
    oidc.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://login.example.com/', Audience: ['silopool'] },
    });
  });

  it('has a shared queue with a dead-letter queue and a model function per model', () => {
    for (const model of ['finance', 'funds']) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `shared_${model}-dlq`,
        SqsManagedSseEnabled: true,
      });
      template.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: `shared_${model}`,
        RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 4 },
        VisibilityTimeout: 1800,
      });
    }
    template.resourcePropertiesCountIs(
      'AWS::Lambda::EventSourceMapping',
      {
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 50 },
        BatchSize: 5,
      },
      2,
    );
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.values(functions).map((f) => f.Properties.Runtime)).toEqual(Array(4).fill('nodejs22.x'));
  });

  it('delivers webhooks with a function fed by the system_webhooks queue, failures retried then dead-lettered', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'system_webhooks',
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 12 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Webhooks'), 'Arn'] },
    });
  });

  it('keeps shared data in one pk/sk table and one private, encrypted, TLS-only bucket', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'silopool-shared',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'silopool-tenants' });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: Match.anyValue(),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets only the shared model role assume the tenant scope role, with session tags', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'silopool-tenant-scope-us-east-1',
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Principal: { AWS: Match.anyValue() },
          }),
        ],
      },
    });
    // Scan carries no partition key, so dynamodb:LeadingKeys could not narrow it: the scope role never has it.
    const scopePolicy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) =>
      id.startsWith('TenantScopeRole'),
    );
    expect(JSON.stringify(scopePolicy)).toContain('dynamodb:Query');
    expect(JSON.stringify(scopePolicy)).not.toContain('dynamodb:Scan');
  });

  it('has a dashboard filtered by a TenantId variable and alarms on dead letters and errors', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0]?.Properties.DashboardBody);
    expect(body).toContain('\\"variables\\"');
    expect(body).toContain('\\"property\\":\\"TenantId\\"');
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(
      alarms.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible'),
    ).toHaveLength(2);
    expect(alarms.filter((a) => a.Properties.MetricName === 'Errors')).toHaveLength(2);
  });
});

describe('cdk-nag AwsSolutionsChecks', () => {
  it('passes the whole app with every finding acknowledged in code', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')) });
    buildInfra(app, testConfig(), ENV);
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synthesis on an unacknowledged finding (the checks do run)', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')) });
    const stack = new Stack(app, 'bad', { env: ENV });
    new s3.Bucket(stack, 'Open');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-S1|server access logs/);
  });
});
