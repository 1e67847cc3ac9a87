import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startFauxqs } from 'fauxqs';
import { emulatorTableInput } from '../../src/adapters/aws/stores.ts';
import { startMoto } from './moto.ts';

// dynalite ships no types: it is a function returning a Node http.Server.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

const region = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** fauxqs (SQS and S3) and dynalite (DynamoDB) in this process on port 0, with clients pointed at them. */
export interface AwsEmulators {
  endpoints: { sqs: string; s3: string; dynamodb: string };
  sqs: SQSClient;
  s3: S3Client;
  dynamo: DynamoDBDocumentClient;
  /** Creates a table keyed `pk` (S) / `sk` (S), the shape of every Silopool table, with a unique name. */
  createTable(prefix?: string): Promise<string>;
  createBucket(prefix?: string): Promise<string>;
  /**
   * A platform's shared table, control-plane table and bucket on the emulators, as the environment the
   * AWS wiring reads (`src/entry/aws-wiring.ts`): for a server with `SILOPOOL_BACKEND=aws` or the
   * Lambda entry points in this process.
   */
  platformEnv(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** The in-process emulators: no Python needed, and fast to start in every file that uses them. */
async function startInProcess(): Promise<{
  sqs: string;
  s3: string;
  dynamodb: string;
  stop(): Promise<void>;
}> {
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamoServer.listen(0, '127.0.0.1', resolve));
  const dynamodb = `http://127.0.0.1:${(dynamoServer.address() as AddressInfo).port}`;
  return {
    sqs: fauxqs.address,
    s3: fauxqs.address,
    dynamodb,
    async stop() {
      await fauxqs.stop();
      await new Promise<void>((resolve, reject) =>
        dynamoServer.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}

/**
 * SQS, S3 and DynamoDB emulators with clients pointed at them: `inProcess` (default) is fauxqs (SQS, S3) and
 * dynalite (DynamoDB) in this process, which start in milliseconds and need no Python; `moto` is one
 * moto_server for all three (test/support/moto.ts), closer to AWS (DynamoDB transactions, IAM), started
 * per file. The contract suites run on both (test/contract/aws.test.ts, test/contract/aws-moto.test.ts).
 */
export async function startAwsEmulators(
  options: { backend?: 'inProcess' | 'moto' } = {},
): Promise<AwsEmulators> {
  const servers =
    options.backend === 'moto'
      ? await startMoto().then((moto) => ({
          sqs: moto.endpoint,
          s3: moto.endpoint,
          dynamodb: moto.endpoint,
          stop: moto.stop,
        }))
      : await startInProcess();
  const dynamoEndpoint = servers.dynamodb;

  const sqs = new SQSClient({ endpoint: servers.sqs, region, credentials });
  const s3 = new S3Client({ endpoint: servers.s3, region, credentials, forcePathStyle: true });
  const rawDynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials });
  const dynamo = DynamoDBDocumentClient.from(rawDynamo);

  const emulators: AwsEmulators = {
    endpoints: { sqs: servers.sqs, s3: servers.s3, dynamodb: dynamoEndpoint },
    sqs,
    s3,
    dynamo,
    async createTable(prefix = 'silopool') {
      const name = `${prefix}-${randomUUID().slice(0, 8)}`;
      // The shape of every Silopool table holding jobs (control-plane tables do not need its index).
      await rawDynamo.send(new CreateTableCommand(emulatorTableInput(name)));
      // dynalite creates tables asynchronously even with createTableMs 0.
      for (let i = 0; i < 50; i++) {
        const out = await rawDynamo.send(new DescribeTableCommand({ TableName: name }));
        if (out.Table?.TableStatus === 'ACTIVE') break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return name;
    },
    async createBucket(prefix = 'silopool') {
      const name = `${prefix}-${randomUUID().slice(0, 8)}`;
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async platformEnv() {
      const [table, tenantsTable, viewsTable, dedupTable, bucket] = await Promise.all([
        emulators.createTable('jobs'),
        emulators.createTable('tenants'),
        emulators.createTable('views'),
        emulators.createTable('dedup'),
        emulators.createBucket('silopool'),
      ]);
      return {
        SILOPOOL_TABLE: table,
        SILOPOOL_TENANTS_TABLE: tenantsTable,
        // Tables of their own, as on AWS: model functions read views, never the directory's items.
        SILOPOOL_TENANT_VIEWS_TABLE: viewsTable,
        SILOPOOL_DEDUP_TABLE: dedupTable,
        SILOPOOL_BUCKET: bucket,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_ENDPOINT_URL_SQS: servers.sqs,
        AWS_ENDPOINT_URL_S3: servers.s3,
        AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      };
    },
    async stop() {
      sqs.destroy();
      s3.destroy();
      rawDynamo.destroy();
      await servers.stop();
    },
  };
  return emulators;
}
