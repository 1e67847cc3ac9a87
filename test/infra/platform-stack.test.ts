import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildInfra } from '../../infra/app.ts';
import { AWS_LIMITS, dedicatedCapacity } from '../../infra/capacity.ts';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { synthesizeTenantTemplate } from '../../infra/tenant-template.ts';
import { artifactsOf } from '../../src/adapters/aws/release-infrastructure.ts';
import { TENANT_STACK_ENV } from '../../src/adapters/aws/tenant-stack.ts';
import { type CfnResource, ENV, testConfig } from './support.ts';

let template: Template;
let outdir: string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'cdk-'));
  const app = new App({ outdir });
  template = Template.fromStack(new PlatformStack(app, 'platform', { env: ENV, config: testConfig() }));
});

/** The one resource of a type whose logical id starts with `prefix`. */
function resource(type: string, prefix: string): CfnResource & { Properties: Record<string, unknown> } {
  const found = Object.entries(template.findResources(type)).filter(([id]) => id.startsWith(prefix));
  expect(found.map(([id]) => id)).toHaveLength(1);
  const [, definition] = found[0]! as [string, CfnResource];
  return { ...definition, Properties: definition.Properties ?? {} };
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function statementsOf(policyPrefix: string): Statement[] {
  const policy = resource('AWS::IAM::Policy', policyPrefix);
  return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

const actionsOf = (statement: Statement) => [statement.Action].flat();

/** An ARN as text: pseudo parameters and attributes as `<name>`. */
function arnText(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if ('Ref' in node) return `<${node.Ref}>`;
  if ('Fn::Sub' in node) return node['Fn::Sub'] as string;
  if ('Fn::GetAtt' in node) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(arnText).join(separator);
  }
  return JSON.stringify(value);
}

const resourcesOf = (statement: Statement) => [statement.Resource].flat().map(arnText);

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
        RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
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
    expect(Object.values(functions).map((f) => f.Properties.Runtime)).toEqual(Array(7).fill('nodejs22.x'));
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

  it('keeps a webhook message invisible six times its function timeout, and alarms on its dead letters', () => {
    const fn = resource('AWS::Lambda::Function', 'WebhookFunction');
    const [queue] = Object.values(
      template.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'system_webhooks' } }),
    );
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * Number(fn.Properties.Timeout));
    const alarm = resource('AWS::CloudWatch::Alarm', 'WebhookDeadLettersAlarm');
    expect(alarm.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [expect.stringMatching(/^WebhooksDeadLetterQueue/), 'QueueName'] },
        },
      ],
      AlarmActions: [expect.anything()],
    });
  });

  it('names its dashboard after the stack and Region, so a second Region does not collide', () => {
    const nameIn = (region: string) => {
      const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')) });
      const stack = new PlatformStack(app, 'silopool-platform', {
        env: { ...ENV, region },
        config: testConfig(),
      });
      const [dashboard] = Object.values(
        Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'),
      );
      return dashboard?.Properties.DashboardName;
    };
    expect(nameIn('us-east-1')).toBe('silopool-platform-us-east-1');
    expect(nameIn('eu-west-1')).toBe('silopool-platform-eu-west-1');
  });

  it('reserves concurrency only for the control and notification functions, which capacity planning takes off first', () => {
    const reserved = Object.values(template.findResources('AWS::Lambda::Function')).reduce(
      (sum, fn) => sum + Number(fn.Properties.ReservedConcurrentExecutions ?? 0),
      0,
    );
    const reservable = AWS_LIMITS.concurrentExecutions - AWS_LIMITS.unreservedMinimum - reserved;
    const plan = dedicatedCapacity({ models: 2, reservedPerFunction: 2 });
    expect(plan.byConcurrency).toBe(Math.floor(reservable / 4));
  });

  it('has a dashboard filtered by a TenantId variable and alarms on dead letters and errors', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(Object.values(dashboards)[0]?.Properties.DashboardBody);
    expect(body).toContain('\\"variables\\"');
    expect(body).toContain('\\"property\\":\\"TenantId\\"');
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(
      alarms.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible'),
    ).toHaveLength(4);
    // Both shared model functions and the control function.
    expect(alarms.filter((a) => a.Properties.MetricName === 'Errors')).toHaveLength(3);
  });
});

describe('PlatformStack: dedicated tenants as stacks the control plane deploys', () => {
  const environmentOf = (prefix: string) =>
    (
      resource('AWS::Lambda::Function', prefix).Properties.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;

  it('publishes the tenant template and tells the API and control functions how to instantiate it', () => {
    const model = resource('AWS::Lambda::Function', 'SharedfinanceModel').Properties.Code as Record<
      string,
      unknown
    >;
    const deployer = { 'Fn::GetAtt': [expect.stringMatching(/^TenantProvisioningDeployerRole/), 'Arn'] };
    for (const fn of ['ApiFunction', 'ControlFunction']) {
      const env = environmentOf(fn);
      expect(env).toMatchObject({
        SILOPOOL_PROVISIONING: 'stack',
        [TENANT_STACK_ENV.codeBucket]: model.S3Bucket,
        [TENANT_STACK_ENV.codeKey]: model.S3Key,
        [TENANT_STACK_ENV.deployerRoleArn]: deployer,
      });
      expect(arnText(env[TENANT_STACK_ENV.templateUrl])).toMatch(/\/[0-9a-f]{64}\.json$/);
    }
    expect(environmentOf('ApiFunction').SILOPOOL_MOVE_RUNNER).toBe('scheduled');
    expect(environmentOf('ControlFunction').SILOPOOL_MOVE_RUNNER).toBe('here');
    // The control function serves no HTTP: no sign-in settings.
    expect(environmentOf('ControlFunction')).not.toHaveProperty('SILOPOOL_OIDC_ISSUER');

    // The published file is the template synthesizeTenantTemplate gives for the platform's models.
    const url = arnText(environmentOf('ApiFunction')[TENANT_STACK_ENV.templateUrl]);
    const hash = /([0-9a-f]{64})\.json$/.exec(url)?.[1];
    const published = JSON.parse(readFileSync(join(outdir, `asset.${hash}.json`), 'utf8'));
    expect(published).toEqual(synthesizeTenantTemplate(['finance', 'funds']));
  });

  it('lets the API role manage only silopool-tenant-* stacks, passing only the deployer role, to CloudFormation only', () => {
    const statements = statementsOf('ApiRole');
    const stacks = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('cloudformation:')));
    expect(stacks.flatMap(actionsOf)).toEqual(
      expect.arrayContaining([
        'cloudformation:CreateStack',
        'cloudformation:UpdateStack',
        'cloudformation:DeleteStack',
        'cloudformation:DescribeStacks',
        'cloudformation:DescribeStackEvents',
      ]),
    );
    // Account-level reads (the quota check before a stack is created) have no resource-level permission.
    const accountReads = ['cloudformation:DescribeAccountLimits', 'cloudformation:ListStacks'];
    for (const statement of stacks) {
      if (actionsOf(statement).some((a) => accountReads.includes(a))) {
        expect(actionsOf(statement).sort()).toEqual([...accountReads, 'lambda:GetAccountSettings'].sort());
        continue;
      }
      expect(resourcesOf(statement)).toEqual([
        'arn:<AWS::Partition>:cloudformation:us-east-1:111122223333:stack/silopool-tenant-*/*',
      ]);
    }
    // Creating and updating only from the published template or a release's, with the deployer role.
    const creates = stacks.find((s) => actionsOf(s).includes('cloudformation:CreateStack'));
    expect(actionsOf(creates!).sort()).toEqual(['cloudformation:CreateStack', 'cloudformation:UpdateStack']);
    const apiEnv = environmentOf('ApiFunction');
    const platformUrl = arnText(apiEnv[TENANT_STACK_ENV.templateUrl]);
    expect(creates!.Condition).toEqual({
      StringLike: { 'cloudformation:TemplateUrl': [apiEnv[TENANT_STACK_ENV.templateUrl], expect.anything()] },
      StringEquals: { 'cloudformation:RoleArn': apiEnv[TENANT_STACK_ENV.deployerRoleArn] },
    });
    const [, releasesUrl] = [creates!.Condition!.StringLike!['cloudformation:TemplateUrl']]
      .flat()
      .map(arnText);
    // The URL artifactsOf gives a release's template, as a pattern: the platform template's folder, releases/.
    const releaseUrl = artifactsOf(
      { templateUrl: platformUrl, code: { bucket: 'b', key: 'k.zip' } },
      ENV.region,
    )('r1', ENV.region).templateUrl;
    expect(releaseUrl.replace('/r1/', '/*/').replace(/\$\{AWS::URLSuffix\}/, '<AWS::URLSuffix>')).toBe(
      releasesUrl,
    );
    expect(releasesUrl).toBe(
      'https://s3.us-east-1.<AWS::URLSuffix>/cdk-hnb659fds-assets-111122223333-us-east-1/releases/*/tenant-template.json',
    );
    // CloudFormation reads the template with the caller's permissions: the platform's object and releases' only.
    const reads = statements.filter((s) => actionsOf(s).join() === 's3:GetObject');
    expect(reads.flatMap(resourcesOf).filter((arn) => arn.includes('cdk-hnb659fds-assets'))).toEqual([
      expect.stringMatching(/cdk-hnb659fds-assets-111122223333-us-east-1\/[0-9a-f]{64}\.json$/),
      'arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-111122223333-us-east-1/releases/*/tenant-template.json',
    ]);

    const passRole = statements.filter((s) => actionsOf(s).includes('iam:PassRole'));
    expect(passRole).toHaveLength(1);
    expect(actionsOf(passRole[0]!)).toEqual(['iam:PassRole']);
    expect(resourcesOf(passRole[0]!)).toEqual([
      expect.stringMatching(/^<TenantProvisioningDeployerRole\w+\.Arn>$/),
    ]);
    expect(passRole[0]!.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
    });

    // Emptying a dedicated bucket before its stack goes: every version, in dedicated buckets only.
    const versions = statements.filter((s) =>
      actionsOf(s).some((a) => a === 's3:ListBucketVersions' || a === 's3:DeleteObjectVersion'),
    );
    expect(versions.flatMap(resourcesOf).sort()).toEqual([
      'arn:<AWS::Partition>:s3:::silopool-*-111122223333-us-east-1',
      'arn:<AWS::Partition>:s3:::silopool-*-111122223333-us-east-1/*',
    ]);
  });

  it('has a deployer role only CloudFormation assumes, with named actions scoped to tenant resources', () => {
    const role = resource('AWS::IAM::Role', 'TenantProvisioningDeployerRole');
    expect(role.Properties).toMatchObject({
      RoleName: 'silopool-tenant-deployer-us-east-1',
      AssumeRolePolicyDocument: {
        Statement: [expect.objectContaining({ Principal: { Service: 'cloudformation.amazonaws.com' } })],
      },
    });
    const statements = statementsOf('TenantProvisioningDeployerRole');
    for (const statement of statements) {
      for (const action of actionsOf(statement)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      for (const arn of resourcesOf(statement)) {
        if (arn === '*') {
          const unscoped = ['kms:CreateKey', 'kms:ListAliases'];
          const byFunction = statement.Condition?.ArnLike?.['lambda:FunctionArn'];
          expect(
            actionsOf(statement).every((a) => unscoped.includes(a)) ||
              arnText(byFunction).includes(':function:silopool-tenant-*'),
          ).toBe(true);
        } else {
          expect(arn).toMatch(
            /silopool-tenant|silopool\/tenant\/\*$|tenant_\*|silopool-\*-111122223333-us-east-1|:key\/\*$|:log-group:\*$|:alarm:\*$|:event-source-mapping:\*$|\.zip$/,
          );
        }
      }
    }
    const iamStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('iam:')));
    expect(iamStatements.flatMap(resourcesOf)).toEqual(
      Array(iamStatements.length).fill('arn:<AWS::Partition>:iam::111122223333:role/silopool-tenant/*'),
    );
    // Lambda reads the bundle with the deployer's permissions: the platform's and releases' bundles only.
    const bundles = statements.filter((s) => actionsOf(s).join() === 's3:GetObject').flatMap(resourcesOf);
    expect(bundles).toEqual([
      expect.stringMatching(
        /^arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-111122223333-us-east-1\/[0-9a-f]{64}\.zip$/,
      ),
      'arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-111122223333-us-east-1/releases/*/*.zip',
    ]);
    const deletion = statements.find((s) => actionsOf(s).includes('kms:ScheduleKeyDeletion'));
    expect(deletion?.Condition).toEqual({ Null: { 'aws:ResourceTag/silopool:tenant': 'false' } });
  });

  it('runs the control function every minute, one run at a time, for up to 15 minutes, alarming on errors', () => {
    const control = resource('AWS::Lambda::Function', 'ControlFunction');
    expect(control.Properties).toMatchObject({
      ReservedConcurrentExecutions: 1,
      Timeout: 900,
      MemorySize: 512,
    });
    // It is the control plane: the API's role.
    expect(control.Properties.Role).toEqual(resource('AWS::Lambda::Function', 'ApiFunction').Properties.Role);
    const rule = resource('AWS::Events::Rule', 'ControlSchedule');
    expect(rule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/^ControlFunction/), 'Arn'] },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumEventAgeInSeconds: 60,
      MaximumRetryAttempts: 0,
    });
    const [controlId] = Object.keys(template.findResources('AWS::Lambda::Function', control));
    expect(resource('AWS::CloudWatch::Alarm', 'ControlErrorsAlarm').Properties).toMatchObject({
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: controlId } }],
      AlarmActions: [expect.anything()],
    });
  });

  it("settles dead letters every minute with the control bundle's sweepDeadLetters, reading only the lanes' DLQs", () => {
    const fn = resource('AWS::Lambda::Function', 'DeadLettersFunction');
    expect(String(fn.Properties.Handler)).toMatch(/sweepDeadLetters$/);
    expect(fn.Properties).toMatchObject({ ReservedConcurrentExecutions: 1 });
    expect(fn.Properties.Role).toEqual(resource('AWS::Lambda::Function', 'ApiFunction').Properties.Role);
    expect(resource('AWS::Events::Rule', 'DeadLettersSchedule').Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
    });
    // A role's statements past the inline size limit go to an overflow managed policy (CDK does this).
    const policies = [
      ...Object.values(template.findResources('AWS::IAM::Policy')),
      ...Object.values(template.findResources('AWS::IAM::ManagedPolicy')),
    ];
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const receive = statements.find(
      (s) => [s.Action].flat().includes('sqs:ReceiveMessage') && JSON.stringify(s.Resource).includes('-dlq'),
    );
    expect(JSON.stringify(receive?.Resource)).toContain('shared_*-dlq');
    expect(JSON.stringify(receive?.Resource)).toContain('tenant_*-dlq');
    expect(JSON.stringify(receive?.Resource)).not.toMatch(/shared_\*"/);
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
