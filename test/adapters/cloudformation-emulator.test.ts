// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the templates are CloudFormation Fn::Sub strings, not JavaScript ones
import { randomUUID } from 'node:crypto';
import {
  CloudFormationClient,
  CreateStackCommand,
  type CreateStackCommandInput,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  UpdateStackCommand,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
  waitUntilStackUpdateComplete,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand, ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import {
  type CloudFormationEmulator,
  startCloudFormationEmulator,
} from '../support/cloudformation-emulator.ts';

/** A tenant stack in miniature: the shapes a synthesized CDK template uses, written by hand. */
const template = {
  Description: 'Emulator test tenant',
  Parameters: {
    TenantId: { Type: 'String', AllowedPattern: '[a-z][a-z0-9-]{2,30}' },
    VisibilityTimeoutSec: { Type: 'Number', Default: '60', MinValue: 0, MaxValue: 43200 },
    BucketName: { Type: 'String' },
    BootstrapVersion: {
      Type: 'AWS::SSM::Parameter::Value<String>',
      Default: '/cdk-bootstrap/hnb659fds/version',
    },
  },
  Rules: {
    CheckBootstrapVersion: { Assertions: [{ Assert: { 'Fn::Not': [{ 'Fn::Contains': [['1'], '2'] }] } }] },
  },
  Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'TenantId' }, 'prod'] } },
  Resources: {
    DeadLetters: {
      Type: 'AWS::SQS::Queue',
      Properties: { QueueName: { 'Fn::Sub': '${TenantId}-jobs-dlq' }, MessageRetentionPeriod: 1209600 },
    },
    Jobs: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        QueueName: { 'Fn::Join': ['-', [{ Ref: 'TenantId' }, 'jobs']] },
        VisibilityTimeout: { Ref: 'VisibilityTimeoutSec' },
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetters', 'Arn'] }, maxReceiveCount: 3 },
      },
    },
    Table: {
      Type: 'AWS::DynamoDB::Table',
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: {
        TableName: { 'Fn::Sub': 'silopool-${TenantId}-${AWS::Region}' },
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    },
    Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: { Ref: 'BucketName' } } },
    Logs: {
      Type: 'AWS::Logs::LogGroup',
      DeletionPolicy: 'Retain',
      Properties: { LogGroupName: { 'Fn::Sub': '/silopool/${TenantId}' } },
    },
    ProdAlarms: { Type: 'AWS::SNS::Topic', Condition: 'IsProd' },
    Role: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
        },
        Policies: [
          {
            PolicyName: 'data',
            PolicyDocument: {
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['dynamodb:GetItem', 's3:GetObject', 'sqs:SendMessage'],
                  Resource: [
                    { 'Fn::GetAtt': 'Table.Arn' },
                    { 'Fn::Sub': '${Bucket.Arn}/tenants/*' },
                    { 'Fn::GetAtt': ['Jobs', 'Arn'] },
                    { 'Fn::If': ['IsProd', { Ref: 'ProdAlarms' }, { Ref: 'AWS::NoValue' }] },
                  ],
                },
              ],
            },
          },
        ],
      },
    },
  },
  Outputs: {
    QueueUrl: { Value: { Ref: 'Jobs' } },
    TableArn: {
      Value: { 'Fn::GetAtt': ['Table', 'Arn'] },
      Export: { Name: { 'Fn::Sub': '${AWS::StackName}-table' } },
    },
    BucketDomain: { Value: { 'Fn::GetAtt': ['Bucket', 'RegionalDomainName'] } },
  },
};

/** The same template with a results queue added. */
const withResults = {
  ...template,
  Resources: {
    ...template.Resources,
    Results: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::Sub': '${TenantId}-results' } } },
  },
};

const waiter = (client: CloudFormationClient) => ({
  client,
  maxWaitTime: 10,
  minDelay: 0.01,
  maxDelay: 0.05,
});

let aws: AwsEmulators;
let cfn: CloudFormationEmulator;
let client: CloudFormationClient;
let templateBucket: string;

beforeAll(async () => {
  aws = await startAwsEmulators();
  cfn = await startCloudFormationEmulator({ sqs: aws.sqs, s3: aws.s3, dynamo: aws.dynamo });
  client = new CloudFormationClient({
    endpoint: cfn.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  templateBucket = await aws.createBucket('templates');
  await upload('tenant stack.json', template);
  await upload('tenant-with-results.json', withResults);
});

afterAll(async () => {
  client?.destroy();
  await cfn?.close();
  await aws?.stop();
});

async function upload(key: string, body: unknown) {
  await aws.s3.send(new PutObjectCommand({ Bucket: templateBucket, Key: key, Body: JSON.stringify(body) }));
}

function tenant() {
  const id = `t${randomUUID().slice(0, 8)}`;
  return { id, stackName: `silopool-tenant-${id}`, bucket: `silopool-${id}-data` };
}

function createInput(t: ReturnType<typeof tenant>, extra: Partial<CreateStackCommandInput> = {}) {
  return {
    StackName: t.stackName,
    TemplateURL: `${aws.endpoints.s3}/${templateBucket}/tenant%20stack.json`,
    Parameters: [
      { ParameterKey: 'TenantId', ParameterValue: t.id },
      { ParameterKey: 'BucketName', ParameterValue: t.bucket },
    ],
    Capabilities: ['CAPABILITY_IAM' as const],
    Tags: [{ Key: 'silopool:tenant', Value: t.id }],
    ...extra,
  };
}

async function describeStack(name: string): Promise<Stack> {
  const out = await client.send(new DescribeStacksCommand({ StackName: name }));
  return out.Stacks![0]!;
}

/** Polls until the stack leaves its *_IN_PROGRESS states. */
async function settled(name: string): Promise<Stack> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const stack = await describeStack(name);
    if (!stack.StackStatus?.endsWith('_IN_PROGRESS')) return stack;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${name} did not settle`);
}

async function rejection(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

async function queueUrl(name: string): Promise<string | undefined> {
  return (await aws.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
}

async function queueAttributes(name: string) {
  const QueueUrl = await queueUrl(name);
  const out = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
  return out.Attributes ?? {};
}

async function queueNames(prefix: string): Promise<string[]> {
  const out = await aws.sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
  return (out.QueueUrls ?? []).map((url) => url.split('/').pop()!).sort();
}

async function tableExists(name: string): Promise<boolean> {
  const dynamo = aws.dynamo as unknown as DynamoDBClient;
  return dynamo.send(new DescribeTableCommand({ TableName: name })).then(
    () => true,
    (error: Error) => (error.name === 'ResourceNotFoundException' ? false : Promise.reject(error)),
  );
}

async function bucketExists(name: string): Promise<boolean> {
  return aws.s3.send(new HeadBucketCommand({ Bucket: name })).then(
    () => true,
    (error: Error) =>
      error.name === 'NotFound' || error.name === 'NoSuchBucket' ? false : Promise.reject(error),
  );
}

describe('CloudFormation emulator', () => {
  it('creates the template from a TemplateURL: real queues, table and bucket with the resolved names', async () => {
    const t = tenant();
    const { StackId } = await client.send(new CreateStackCommand(createInput(t)));
    expect(StackId).toMatch(
      new RegExp(`^arn:aws:cloudformation:us-east-1:000000000000:stack/${t.stackName}/`),
    );
    expect((await describeStack(t.stackName)).StackStatus).toBe('CREATE_IN_PROGRESS');

    await waitUntilStackCreateComplete(waiter(client), { StackName: t.stackName });

    expect(await queueNames(t.id)).toEqual([`${t.id}-jobs`, `${t.id}-jobs-dlq`]);
    const jobs = await queueAttributes(`${t.id}-jobs`);
    const deadLetters = await queueAttributes(`${t.id}-jobs-dlq`);
    expect(JSON.parse(jobs.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: deadLetters.QueueArn,
      maxReceiveCount: 3,
    });
    expect(jobs.VisibilityTimeout).toBe('60');
    expect(deadLetters.MessageRetentionPeriod).toBe('1209600');
    const dynamo = aws.dynamo as unknown as DynamoDBClient;
    const table = await dynamo.send(new DescribeTableCommand({ TableName: `silopool-${t.id}-us-east-1` }));
    expect(table.Table?.TableStatus).toBe('ACTIVE');
    expect(await bucketExists(t.bucket)).toBe(true);

    const stack = await describeStack(StackId!);
    expect(stack).toMatchObject({
      StackName: t.stackName,
      StackStatus: 'CREATE_COMPLETE',
      Description: 'Emulator test tenant',
      Capabilities: ['CAPABILITY_IAM'],
      Tags: [{ Key: 'silopool:tenant', Value: t.id }],
    });
    expect(Object.fromEntries(stack.Parameters!.map((p) => [p.ParameterKey, p.ParameterValue]))).toEqual({
      TenantId: t.id,
      BucketName: t.bucket,
      VisibilityTimeoutSec: '60',
      BootstrapVersion: '/cdk-bootstrap/hnb659fds/version',
    });
    const outputs = Object.fromEntries(stack.Outputs!.map((o) => [o.OutputKey, o]));
    expect(outputs.QueueUrl?.OutputValue).toBe(await queueUrl(`${t.id}-jobs`));
    expect(outputs.TableArn).toMatchObject({
      OutputValue: `arn:aws:dynamodb:us-east-1:000000000000:table/silopool-${t.id}-us-east-1`,
      ExportName: `${t.stackName}-table`,
    });
    expect(outputs.BucketDomain?.OutputValue).toBe(`${t.bucket}.s3.us-east-1.amazonaws.com`);

    const resources = cfn.stack(t.stackName)!.resources;
    expect(Object.keys(resources).sort()).toEqual(['Bucket', 'DeadLetters', 'Jobs', 'Logs', 'Role', 'Table']);
    expect(resources.Role?.type).toBe('AWS::IAM::Role');
    const { StackEvents } = await client.send(new DescribeStackEventsCommand({ StackName: t.stackName }));
    expect(StackEvents![0]).toMatchObject({
      LogicalResourceId: t.stackName,
      ResourceStatus: 'CREATE_COMPLETE',
    });
    expect(StackEvents!.at(-1)).toMatchObject({
      ResourceStatus: 'CREATE_IN_PROGRESS',
      ResourceStatusReason: 'User Initiated',
    });
  });

  it('resolves intrinsic functions, mappings, conditions and pseudo parameters in a TemplateBody', async () => {
    const t = tenant();
    const body = {
      Parameters: {
        Zones: { Type: 'CommaDelimitedList', Default: 'x,y,z' },
        Stage: { Type: 'String', AllowedValues: ['dev', 'prod'], Default: 'dev' },
      },
      Mappings: { Sizes: { dev: { Memory: 512 }, prod: { Memory: 2048 } } },
      Conditions: {
        IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] },
        IsDevInUsEast: {
          'Fn::And': [
            { 'Fn::Not': [{ Condition: 'IsProd' }] },
            { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
          ],
        },
      },
      Resources: {
        Topic: { Type: 'AWS::SNS::Topic' },
        ProdTopic: { Type: 'AWS::SNS::Topic', Condition: 'IsProd' },
      },
      Outputs: {
        Sub: {
          Value: {
            'Fn::Sub': [
              '${AWS::StackName}/${Name}/${!Literal}/${Topic.TopicArn}',
              { Name: { Ref: 'Stage' } },
            ],
          },
        },
        Select: { Value: { 'Fn::Select': [1, { Ref: 'Zones' }] } },
        Split: { Value: { 'Fn::Select': [2, { 'Fn::Split': ['/', 'a/b/c'] }] } },
        Memory: { Value: { 'Fn::FindInMap': ['Sizes', { Ref: 'Stage' }, 'Memory'] } },
        Zone: { Value: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] } },
        Base64: { Value: { 'Fn::Base64': 'hi' } },
        If: { Value: { 'Fn::If': ['IsDevInUsEast', 'dev-east', 'other'] } },
        Pseudo: {
          Value: {
            'Fn::Join': [
              ':',
              [{ Ref: 'AWS::Partition' }, { Ref: 'AWS::AccountId' }, { Ref: 'AWS::URLSuffix' }],
            ],
          },
        },
        ProdOnly: { Condition: 'IsProd', Value: { Ref: 'ProdTopic' } },
      },
    };
    await client.send(new CreateStackCommand({ StackName: t.stackName, TemplateBody: JSON.stringify(body) }));
    await waitUntilStackCreateComplete(waiter(client), { StackName: t.stackName });
    const stack = await describeStack(t.stackName);
    const outputs = Object.fromEntries(stack.Outputs!.map((o) => [o.OutputKey, o.OutputValue]));
    expect(outputs).toEqual({
      Sub: `${t.stackName}/dev/\${Literal}/arn:aws:sns:us-east-1:000000000000:Topic`,
      Select: 'y',
      Split: 'c',
      Memory: '512',
      Zone: 'us-east-1a',
      Base64: 'aGk=',
      If: 'dev-east',
      Pseudo: 'aws:000000000000:amazonaws.com',
    });
    expect(Object.keys(cfn.stack(t.stackName)!.resources)).toEqual(['Topic']);
    expect(stack.Capabilities ?? []).toEqual([]);
  });

  it('rejects bad parameters and missing capabilities with CloudFormation error codes, creating nothing', async () => {
    const t = tenant();
    const cases: [Partial<CreateStackCommandInput>, string, string][] = [
      [
        { Parameters: [...createInput(t).Parameters, { ParameterKey: 'Colour', ParameterValue: 'red' }] },
        'ValidationError',
        'Parameters: [Colour] do not exist in the template',
      ],
      [
        { Parameters: [{ ParameterKey: 'TenantId', ParameterValue: t.id }] },
        'ValidationError',
        'Parameters: [BucketName] must have values',
      ],
      [
        {
          Parameters: [
            { ParameterKey: 'TenantId', ParameterValue: 'Not_Valid' },
            createInput(t).Parameters[1]!,
          ],
        },
        'ValidationError',
        "Parameter 'TenantId' must match pattern [a-z][a-z0-9-]{2,30}",
      ],
      [
        {
          Parameters: [
            ...createInput(t).Parameters,
            { ParameterKey: 'VisibilityTimeoutSec', ParameterValue: 'soon' },
          ],
        },
        'ValidationError',
        "Parameter 'VisibilityTimeoutSec' must be a number",
      ],
      [{ Capabilities: [] }, 'InsufficientCapabilitiesException', 'Requires capabilities : [CAPABILITY_IAM]'],
    ];
    for (const [extra, name, message] of cases) {
      const error = await rejection(client.send(new CreateStackCommand(createInput(t, extra))));
      expect({ name: error.name, message: error.message }).toEqual({ name, message });
    }
    expect(cfn.stack(t.stackName)).toBeUndefined();
    expect(cfn.calls.filter((c) => c.action === 'CreateStack' && c.stackName === t.stackName)).toHaveLength(
      5,
    );
    expect(await queueNames(t.id)).toEqual([]);
  });

  it('refuses a second stack of the same name, and DescribeStacks of an unknown stack', async () => {
    const t = tenant();
    await client.send(new CreateStackCommand(createInput(t)));
    const duplicate = await rejection(client.send(new CreateStackCommand(createInput(t))));
    expect(duplicate).toMatchObject({
      name: 'AlreadyExistsException',
      message: `Stack [${t.stackName}] already exists`,
    });
    const early = await rejection(
      client.send(
        new UpdateStackCommand({
          StackName: t.stackName,
          UsePreviousTemplate: true,
          Capabilities: ['CAPABILITY_IAM'],
        }),
      ),
    );
    expect(early.name).toBe('ValidationError');
    expect(early.message).toMatch(/is in CREATE_IN_PROGRESS state and can not be updated\.$/);
    await waitUntilStackCreateComplete(waiter(client), { StackName: t.stackName });

    const unknown = await rejection(describeStack('silopool-tenant-nobody'));
    expect(unknown).toMatchObject({
      name: 'ValidationError',
      message: 'Stack with id silopool-tenant-nobody does not exist',
    });
  });

  it('updates in place: adds a resource, changes a queue attribute; an unchanged update is refused', async () => {
    const t = tenant();
    await client.send(new CreateStackCommand(createInput(t)));
    await waitUntilStackCreateComplete(waiter(client), { StackName: t.stackName });
    const jobsUrl = cfn.stack(t.stackName)!.resources.Jobs!.physicalId;

    await client.send(
      new UpdateStackCommand({
        StackName: t.stackName,
        TemplateURL: `https://${templateBucket}.s3.us-east-1.amazonaws.com/tenant-with-results.json`,
        Parameters: [
          { ParameterKey: 'TenantId', UsePreviousValue: true },
          { ParameterKey: 'BucketName', UsePreviousValue: true },
          { ParameterKey: 'VisibilityTimeoutSec', ParameterValue: '180' },
        ],
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    expect((await describeStack(t.stackName)).StackStatus).toBe('UPDATE_IN_PROGRESS');
    await waitUntilStackUpdateComplete(waiter(client), { StackName: t.stackName });

    expect(await queueNames(t.id)).toEqual([`${t.id}-jobs`, `${t.id}-jobs-dlq`, `${t.id}-results`]);
    expect((await queueAttributes(`${t.id}-jobs`)).VisibilityTimeout).toBe('180');
    expect(cfn.stack(t.stackName)!.resources.Jobs!.physicalId).toBe(jobsUrl);
    const stack = await describeStack(t.stackName);
    expect(stack.StackStatus).toBe('UPDATE_COMPLETE');
    expect(stack.LastUpdatedTime).toBeInstanceOf(Date);

    const again = await rejection(
      client.send(
        new UpdateStackCommand({
          StackName: t.stackName,
          UsePreviousTemplate: true,
          Parameters: ['TenantId', 'BucketName', 'VisibilityTimeoutSec'].map((ParameterKey) => ({
            ParameterKey,
            UsePreviousValue: true,
          })),
          Capabilities: ['CAPABILITY_IAM'],
        }),
      ),
    );
    expect(again).toMatchObject({ name: 'ValidationError', message: 'No updates are to be performed.' });
  });

  it('rolls a failed update back: the added queue is deleted, the changed attribute restored', async () => {
    const t = tenant();
    await client.send(new CreateStackCommand(createInput(t)));
    await waitUntilStackCreateComplete(waiter(client), { StackName: t.stackName });
    cfn.failNext(t.stackName, 'Role', 'Simulated IAM outage');
    await client.send(
      new UpdateStackCommand({
        ...createInput(t),
        TemplateURL: `https://s3.amazonaws.com/${templateBucket}/tenant-with-results.json`,
        Parameters: [
          ...createInput(t).Parameters,
          { ParameterKey: 'VisibilityTimeoutSec', ParameterValue: '90' },
        ],
      }),
    );
    const stack = await settled(t.stackName);
    expect(stack.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(stack.StackStatusReason).toContain('Simulated IAM outage');
    expect(await queueNames(t.id)).toEqual([`${t.id}-jobs`, `${t.id}-jobs-dlq`]);
    expect((await queueAttributes(`${t.id}-jobs`)).VisibilityTimeout).toBe('60');
    expect(cfn.stack(t.stackName)!.parameters.VisibilityTimeoutSec).toBe('60');
  });

  it('fails to delete a non-empty bucket, then deletes on retry and keeps the retained resources', async () => {
    const t = tenant();
    const { StackId } = await client.send(new CreateStackCommand(createInput(t)));
    await waitUntilStackCreateComplete(waiter(client), { StackName: t.stackName });
    await aws.s3.send(new PutObjectCommand({ Bucket: t.bucket, Key: 'tenants/a/result.json', Body: '{}' }));

    await client.send(new DeleteStackCommand({ StackName: t.stackName }));
    const failed = await settled(t.stackName);
    expect(failed.StackStatus).toBe('DELETE_FAILED');
    expect(failed.StackStatusReason).toMatch(/^The following resource\(s\) failed to delete: \[Bucket\]\./);
    expect(failed.StackStatusReason).toContain('BucketNotEmpty');
    expect(Object.keys(cfn.stack(t.stackName)!.resources)).toEqual(['Bucket']);
    expect(await queueNames(t.id)).toEqual([]);

    await aws.s3.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: 'tenants/a/result.json' }));
    await client.send(new DeleteStackCommand({ StackName: t.stackName }));
    await waitUntilStackDeleteComplete(waiter(client), { StackName: t.stackName });

    expect(cfn.stack(t.stackName)).toBeUndefined();
    expect(await rejection(describeStack(t.stackName))).toMatchObject({ name: 'ValidationError' });
    expect((await describeStack(StackId!)).StackStatus).toBe('DELETE_COMPLETE');
    expect(await bucketExists(t.bucket)).toBe(false);
    expect(await tableExists(`silopool-${t.id}-us-east-1`)).toBe(true);
    const { StackEvents } = await client.send(new DescribeStackEventsCommand({ StackName: StackId }));
    expect(
      StackEvents!
        .filter((e) => e.ResourceStatus === 'DELETE_SKIPPED')
        .map((e) => e.LogicalResourceId)
        .sort(),
    ).toEqual(['Logs', 'Table']);
    await client.send(new DeleteStackCommand({ StackName: t.stackName }));
  });

  it('rolls a failed create back, leaving nothing behind, and the name stays taken until deleted', async () => {
    const t = tenant();
    cfn.failNext(t.stackName, 'Role', 'Simulated IAM outage');
    await client.send(new CreateStackCommand(createInput(t)));
    const stack = await settled(t.stackName);
    expect(stack.StackStatus).toBe('ROLLBACK_COMPLETE');
    expect(stack.StackStatusReason).toBe(
      'The following resource(s) failed to create: [Role]. Role: Simulated IAM outage',
    );
    expect(stack.Outputs ?? []).toEqual([]);
    expect(await queueNames(t.id)).toEqual([]);
    expect(await tableExists(`silopool-${t.id}-us-east-1`)).toBe(false);
    expect(await bucketExists(t.bucket)).toBe(false);
    const { StackEvents } = await client.send(new DescribeStackEventsCommand({ StackName: t.stackName }));
    expect(StackEvents!.find((e) => e.ResourceStatus === 'CREATE_FAILED')).toMatchObject({
      LogicalResourceId: 'Role',
      ResourceType: 'AWS::IAM::Role',
      ResourceStatusReason: 'Simulated IAM outage',
    });

    const again = await rejection(client.send(new CreateStackCommand(createInput(t))));
    expect(again.name).toBe('AlreadyExistsException');
    await client.send(new DeleteStackCommand({ StackName: t.stackName }));
    await waitUntilStackDeleteComplete(waiter(client), { StackName: t.stackName });
    await client.send(new CreateStackCommand(createInput(t)));
    await waitUntilStackCreateComplete(waiter(client), { StackName: t.stackName });
  });
});
