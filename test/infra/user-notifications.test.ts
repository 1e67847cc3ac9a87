import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { TenantStack } from '../../infra/tenant-stack.ts';
import { ENV, stubCode, testConfig } from './support.ts';

// User notifications on AWS (infra/constructs/user-notifications.ts): the queue and its function, what the
// function's role may do (and nothing more), and who may announce to the queue.
const SECRET = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:silopool-notifications-AbCdEf';
let template: Template;

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function platform(config = testConfig()): Template {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')) });
  return Template.fromStack(new PlatformStack(app, 'platform', { env: ENV, config }));
}

/** The statements of the one policy whose logical id starts with `prefix`. */
function statementsOf(t: Template, prefix: string): Statement[] {
  const policies = Object.entries(t.findResources('AWS::IAM::Policy')).filter(([id]) =>
    id.startsWith(prefix),
  );
  expect(policies).toHaveLength(1);
  return (policies[0]![1].Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

function functionOf(t: Template, prefix: string): Record<string, unknown> {
  const found = Object.entries(t.findResources('AWS::Lambda::Function')).filter(([id]) =>
    id.startsWith(prefix),
  );
  expect(found).toHaveLength(1);
  return found[0]![1].Properties as Record<string, unknown>;
}

const variablesOf = (fn: Record<string, unknown>) =>
  (fn.Environment as { Variables: Record<string, unknown> }).Variables;

beforeAll(() => {
  template = platform(testConfig({ notifications: { secretArn: SECRET, from: 'Silopool <n@example.com>' } }));
});

describe('user notifications on AWS (CDK)', () => {
  it('feeds the notification function from system_notifications: partial batch responses, a dead-letter queue with an alarm, visibility six times its timeout, reserved concurrency', () => {
    const fn = functionOf(template, 'UserNotificationsFunction');
    expect(fn.ReservedConcurrentExecutions).toBe(5);
    const [queue] = Object.values(
      template.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'system_notifications' } }),
    );
    expect(queue?.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 12 });
    expect(queue?.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * Number(fn.Timeout));
    template.hasResourceProperties('AWS::SQS::Queue', { QueueName: 'system_notifications-dlq' });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^UserNotificationsQueue'), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^UserNotificationsDeadLetterQueue'), 'QueueName'] },
        },
      ],
      AlarmActions: Match.anyValue(),
    });
  });

  it("lets the notification function read views, job records and users' settings, and send only to its own queue", () => {
    const statements = statementsOf(template, 'UserNotificationsRoleDefaultPolicy');
    const actions = new Set(statements.flatMap((s) => [s.Action].flat()));
    // Nothing that writes a job, deletes an object, or reaches the tenant directory's secrets.
    expect([...actions].sort()).toEqual(
      [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    const text = JSON.stringify(statements);
    expect(text).not.toContain('TenantsTable');
    expect(text).not.toContain('system_webhooks');
    // Item writes only on the queue's dedup partition; objects only under the users' settings prefix.
    const writes = statements.filter((s) => [s.Action].flat().includes('dynamodb:PutItem'));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.Condition).toMatchObject({
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['DEDUP#system_notifications'] },
    });
    const objects = statements.filter((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(objects)).toContain('/tenants/*/notifications/users/*');
    expect(JSON.stringify(objects)).not.toMatch(/tenants\/\*"/);
    const list = statements.find((s) => [s.Action].flat().includes('s3:ListBucket'));
    expect(list?.Condition).toEqual({
      StringLike: { 's3:prefix': ['tenants/*/notifications/users/*'] },
      // Buckets of this account only (test/security/aws-iam.test.ts, another account's of the same name).
      StringEquals: { 'aws:ResourceAccount': expect.anything() },
    });
    const kms = statements.find((s) => [s.Action].flat().includes('kms:Decrypt'));
    expect(kms?.Condition).toMatchObject({ Null: { 'aws:ResourceTag/silopool:tenant': 'false' } });
    const sends = statements.filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    expect(sends.map((s) => s.Resource)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^UserNotificationsQueue/), 'Arn'] },
    ]);
  });

  it('has the shared model functions announce to the queue, and fills the channels from the secret', () => {
    const model = statementsOf(template, 'SharedModelRoleDefaultPolicy');
    const sends = model.filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    expect(JSON.stringify(sends)).toContain('UserNotificationsQueue');
    const dedup = model.find((s) => JSON.stringify(s.Condition ?? {}).includes('DEDUP#'));
    expect(dedup?.Condition).toMatchObject({
      'ForAllValues:StringEquals': {
        'dynamodb:LeadingKeys': ['DEDUP#system_webhooks', 'DEDUP#system_notifications'],
      },
    });
    for (const prefix of ['SharedfinanceModelFunction', 'SharedfundsModelFunction', 'DeadLettersFunction']) {
      expect(variablesOf(functionOf(template, prefix)).SILOPOOL_NOTIFICATIONS).toBe('on');
    }
    // CloudFormation resolves the secret's fields at deploy time (dynamic references), for the function and the API.
    for (const prefix of ['UserNotificationsFunction', 'ApiFunction']) {
      const variables = variablesOf(functionOf(template, prefix));
      expect(variables.SILOPOOL_SMTP_URL).toBe(`{{resolve:secretsmanager:${SECRET}:SecretString:smtpUrl::}}`);
      expect(variables.SILOPOOL_VAPID_PRIVATE_KEY).toBe(
        `{{resolve:secretsmanager:${SECRET}:SecretString:vapidPrivateKey::}}`,
      );
      expect(variables.SILOPOOL_SMTP_FROM).toBe('Silopool <n@example.com>');
    }
    // Without a secret, no channel is configured (the function drops announcements; the API offers none).
    const bare = platform();
    expect(variablesOf(functionOf(bare, 'UserNotificationsFunction')).SILOPOOL_SMTP_URL).toBeUndefined();
    expect(variablesOf(functionOf(bare, 'ApiFunction')).SILOPOOL_VAPID_PUBLIC_KEY).toBeUndefined();
  });

  it("has a dedicated tenant's model functions announce to the platform's queue by name", () => {
    const app = new App();
    const tenant = Template.fromStack(
      new TenantStack(app, 'silopool-tenant-acme', {
        env: ENV,
        tenant: { id: 'acme', reservedConcurrency: 2, memoryMb: 1024, timeoutSec: 300 },
        models: ['finance'],
        code: stubCode(),
      }),
    );
    const statements = statementsOf(tenant, 'ModelRoleDefaultPolicy');
    const sends = statements.find((s) => [s.Action].flat().includes('sqs:SendMessage'));
    expect(JSON.stringify(sends?.Resource)).toContain(':system_notifications');
    const dedup = statements.find((s) => JSON.stringify(s.Condition ?? {}).includes('DEDUP#'));
    expect(JSON.stringify(dedup?.Condition)).toContain('DEDUP#system_notifications');
    const [fn] = Object.values(tenant.findResources('AWS::Lambda::Function'));
    expect(variablesOf(fn!.Properties).SILOPOOL_NOTIFICATIONS).toBe('on');
  });
});
