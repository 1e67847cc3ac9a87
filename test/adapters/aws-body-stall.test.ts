import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig, SQS_LONG_POLLS } from '../../src/adapters/aws/client-config.ts';
import { createDynamoJobStore } from '../../src/adapters/aws/job-store.ts';
import { createSqsMessageQueue } from '../../src/adapters/aws/message-queue.ts';
import { createS3ObjectStore } from '../../src/adapters/aws/object-store.ts';
import { newJobId, parseTenantId } from '../../src/core/ids.ts';
import { listenLocally } from '../support/local-server.ts';

// A service that answers 200 with its headers and the start of a body, then never sends the rest: the SDK's
// request timeout ends at the headers, so only the idle-socket limit ends the body's read.
let endpoint: string;
let stop: () => Promise<void>;

function stallAfterHeaders(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const json = (req.headers['content-type'] ?? '').includes('json');
  res.writeHead(200, {
    'content-type': json ? 'application/x-amz-json-1.0' : 'application/octet-stream',
    'content-length': '100000',
  });
  res.write(json ? '{"Item": {' : 'PK\u0003\u0004');
}

beforeAll(async () => {
  ({ url: endpoint, stop } = await listenLocally(createServer(stallAfterHeaders)));
});
afterAll(() => stop());

const base = (socketTimeoutMs = 300) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
  ...awsClientConfig({ requestTimeoutMs: 300, connectionTimeoutMs: 300, socketTimeoutMs }),
});

async function errorOf(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    () => new Error('the call succeeded'),
    (e: unknown) => e,
  );
}

function idleTimeout(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e.name === 'TimeoutError' && /inactivity/.test(e.message)) return true;
  }
  return false;
}

describe('AWS clients against a service whose body stalls after its headers', () => {
  it('an S3 object read fails with a timeout instead of hanging', async () => {
    const objects = createS3ObjectStore({
      client: new S3Client({ ...base(), forcePathStyle: true }),
      bucket: 'b',
    });
    expect(idleTimeout(await errorOf(() => objects.get('tenants/t-stall/x.xlsx')))).toBe(true);
  });

  it('a DynamoDB read, whose answer is parsed after the handler returned, fails too', async () => {
    const client = DynamoDBDocumentClient.from(new DynamoDBClient(base()));
    const jobs = createDynamoJobStore({ client, tableName: 'jobs' }).forTenant(parseTenantId('t-stall'));
    expect(idleTimeout(await errorOf(() => jobs.get(newJobId())))).toBe(true);
  });

  it('an SQS call fails too', async () => {
    const queue = createSqsMessageQueue({
      client: new SQSClient(base()),
      queueUrlPrefix: `${endpoint}/000000000000/`,
    });
    expect(idleTimeout(await errorOf(() => queue.send('q-stall', { body: '{}' })))).toBe(true);
  });

  it('every client has an idle-socket limit by default; SQS clients one that outlasts the longest long poll', () => {
    expect(awsClientConfig().requestHandler.socketTimeout).toBeGreaterThan(0);
    expect(awsClientConfig(SQS_LONG_POLLS).requestHandler.socketTimeout).toBeGreaterThan(20_000);
  });
});
