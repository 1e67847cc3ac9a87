// Resource types on the emulators: SQS queues on fauxqs, DynamoDB tables on dynalite and S3 buckets are
// really created, updated in place or replaced, and deleted; every other type is only recorded.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, DeleteBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Props } from './template.ts';
import { canonical, isRecord } from './values.ts';

/** A resource a stack holds: what Ref and Fn::GetAtt give, and the properties it was made with. */
export interface LiveResource {
  type: string;
  physicalId: string;
  ref: string;
  attrs: Record<string, string>;
  properties: Props;
}

export interface ResourceContext {
  stackName: string;
  logicalId: string;
  region: string;
  account: string;
}

export interface ResourceHandler {
  create(props: Props, context: ResourceContext): Promise<Omit<LiveResource, 'type' | 'properties'>>;
  /** Applies changed properties in place; `undefined` means the change needs a replacement. */
  update(current: LiveResource, props: Props): Promise<Omit<LiveResource, 'type' | 'properties'> | undefined>;
  delete(resource: LiveResource): Promise<void>;
}

export interface EmulatorClients {
  sqs: SQSClient;
  s3: S3Client;
  dynamo: DynamoDBClient | DynamoDBDocumentClient;
}

function randomSuffix(length = 12): string {
  return randomUUID().replaceAll('-', '').slice(0, length).toUpperCase();
}

/** The name CloudFormation makes up when a template names no resource: `stack-logicalId-RANDOM`. */
function generatedName(stack: string, logicalId: string, maxLength: number, suffix = ''): string {
  const random = randomSuffix();
  const base = `${stack}-${logicalId}`.slice(0, maxLength - random.length - 1 - suffix.length);
  return `${base}-${random}${suffix}`;
}

/** `work`'s result, or `undefined` when it fails because the resource is not there (any of `names`). */
async function unlessMissing<T>(work: Promise<T>, ...names: string[]): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof Error && names.includes(error.name)) return undefined;
    throw error;
  }
}

/** The queue attributes CloudFormation passes on and fauxqs accepts, with SQS's defaults for removed ones. */
const QUEUE_ATTRIBUTES: Record<string, string | undefined> = {
  VisibilityTimeout: '30',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  MaximumMessageSize: '1048576',
  ReceiveMessageWaitTimeSeconds: '0',
  RedrivePolicy: '',
  FifoQueue: undefined,
  ContentBasedDeduplication: 'false',
  KmsMasterKeyId: undefined,
  KmsDataKeyReusePeriodSeconds: undefined,
};

function queueAttributes(props: Props): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of Object.keys(QUEUE_ATTRIBUTES)) {
    const value = props[name];
    if (value !== undefined)
      attributes[name] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return attributes;
}

function queueHandler(sqs: SQSClient): ResourceHandler {
  return {
    async create(props, { stackName, logicalId, region, account }) {
      const fifo = String(props.FifoQueue) === 'true';
      const name = props.QueueName
        ? String(props.QueueName)
        : generatedName(stackName, logicalId, 80, fifo ? '.fifo' : '');
      const out = await sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: queueAttributes(props) }),
      );
      const url = out.QueueUrl!;
      return {
        physicalId: url,
        ref: url,
        attrs: { Arn: `arn:aws:sqs:${region}:${account}:${name}`, QueueName: name, QueueUrl: url },
      };
    },
    async update(current, props) {
      if (
        props.QueueName !== current.properties.QueueName ||
        props.FifoQueue !== current.properties.FifoQueue
      ) {
        return undefined;
      }
      const before = queueAttributes(current.properties);
      const after = queueAttributes(props);
      const changed: Record<string, string> = {};
      for (const [name, value] of Object.entries(after)) if (before[name] !== value) changed[name] = value;
      for (const name of Object.keys(before)) {
        const fallback = QUEUE_ATTRIBUTES[name];
        if (!(name in after) && fallback !== undefined) changed[name] = fallback;
      }
      if (Object.keys(changed).length > 0) {
        await sqs.send(new SetQueueAttributesCommand({ QueueUrl: current.physicalId, Attributes: changed }));
      }
      return current;
    },
    async delete(resource) {
      await unlessMissing(
        sqs.send(new DeleteQueueCommand({ QueueUrl: resource.physicalId })),
        'QueueDoesNotExist',
        'AWS.SimpleQueueService.NonExistentQueue',
      );
    },
  };
}

function throughput(value: unknown) {
  const t = isRecord(value) ? value : {};
  return {
    ReadCapacityUnits: Number(t.ReadCapacityUnits ?? 1),
    WriteCapacityUnits: Number(t.WriteCapacityUnits ?? 1),
  };
}

function indexes(value: unknown, withThroughput: boolean) {
  return Array.isArray(value) && value.length > 0
    ? value.filter(isRecord).map((index) => ({
        IndexName: String(index.IndexName),
        KeySchema: index.KeySchema as never,
        Projection: index.Projection as never,
        ...(withThroughput ? { ProvisionedThroughput: throughput(index.ProvisionedThroughput) } : {}),
      }))
    : undefined;
}

function tableHandler(dynamo: DynamoDBClient): ResourceHandler {
  async function waitForTable(name: string, done: (status: string | undefined) => boolean): Promise<void> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const described = await unlessMissing(
        dynamo.send(new DescribeTableCommand({ TableName: name })),
        'ResourceNotFoundException',
      );
      if (done(described?.Table?.TableStatus)) return;
      await sleep(10);
    }
    throw new Error(`Table ${name} did not settle within 10 s`);
  }

  return {
    async create(props, { stackName, logicalId, region, account }) {
      const name = props.TableName ? String(props.TableName) : generatedName(stackName, logicalId, 255);
      const provisioned =
        (props.BillingMode ?? (props.ProvisionedThroughput ? 'PROVISIONED' : undefined)) === 'PROVISIONED';
      await dynamo.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: props.KeySchema as never,
          AttributeDefinitions: props.AttributeDefinitions as never,
          BillingMode: provisioned ? 'PROVISIONED' : 'PAY_PER_REQUEST',
          ...(provisioned ? { ProvisionedThroughput: throughput(props.ProvisionedThroughput) } : {}),
          GlobalSecondaryIndexes: indexes(props.GlobalSecondaryIndexes, provisioned),
          LocalSecondaryIndexes: indexes(props.LocalSecondaryIndexes, false),
        }),
      );
      await waitForTable(name, (status) => status === 'ACTIVE');
      const arn = `arn:aws:dynamodb:${region}:${account}:table/${name}`;
      const attrs: Record<string, string> = { Arn: arn };
      if (props.StreamSpecification)
        attrs.StreamArn = `${arn}/stream/${new Date().toISOString().slice(0, 23)}`;
      return { physicalId: name, ref: name, attrs };
    },
    async update(current, props) {
      const keysOf = (p: Props) => canonical([p.TableName, p.KeySchema]);
      return keysOf(props) === keysOf(current.properties) ? current : undefined;
    },
    async delete(resource) {
      const deleted = await unlessMissing(
        dynamo.send(new DeleteTableCommand({ TableName: resource.physicalId })),
        'ResourceNotFoundException',
      );
      if (deleted) await waitForTable(resource.physicalId, (status) => status === undefined);
    },
  };
}

function bucketHandler(s3: S3Client): ResourceHandler {
  return {
    async create(props, { stackName, logicalId, region }) {
      const name = props.BucketName
        ? String(props.BucketName)
        : generatedName(stackName, logicalId, 63)
            .toLowerCase()
            .replace(/[^a-z0-9.-]/g, '-');
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      return {
        physicalId: name,
        ref: name,
        attrs: {
          Arn: `arn:aws:s3:::${name}`,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
          DualStackDomainName: `${name}.s3.dualstack.${region}.amazonaws.com`,
          WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
        },
      };
    },
    async update(current, props) {
      return props.BucketName === current.properties.BucketName ? current : undefined;
    },
    async delete(resource) {
      await unlessMissing(s3.send(new DeleteBucketCommand({ Bucket: resource.physicalId })), 'NoSuchBucket');
    },
  };
}

/** Every type the emulator does not create anywhere: recorded, with a made-up physical id. */
const recordedOnly: ResourceHandler = {
  async create(_props, { logicalId }) {
    const physicalId = `${logicalId}-${randomSuffix()}`;
    return { physicalId, ref: physicalId, attrs: {} };
  },
  async update(current) {
    return current;
  },
  async delete() {},
};

/** The handler of each resource type, on these clients. */
export function resourceHandlers(clients: EmulatorClients): (type: string) => ResourceHandler {
  const handlers: Record<string, ResourceHandler> = {
    'AWS::SQS::Queue': queueHandler(clients.sqs),
    'AWS::DynamoDB::Table': tableHandler(clients.dynamo as DynamoDBClient),
    'AWS::S3::Bucket': bucketHandler(clients.s3),
  };
  return (type) => handlers[type] ?? recordedOnly;
}
