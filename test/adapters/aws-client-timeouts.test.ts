import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsClientConfig } from '../../src/adapters/aws/client-config.ts';
import { createDynamoJobStore } from '../../src/adapters/aws/job-store.ts';
import { createSqsMessageQueue } from '../../src/adapters/aws/message-queue.ts';
import { createS3ObjectStore } from '../../src/adapters/aws/object-store.ts';
import { newJobId, parseTenantId } from '../../src/core/ids.ts';

// A service that accepts connections and reads requests but never answers: what a hung endpoint looks like.
let server: Server;
let endpoint: string;
const sockets = new Set<Socket>();
let connections = 0;

beforeAll(async () => {
  server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  endpoint = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const base = () => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  ...awsClientConfig({ requestTimeoutMs: 300, connectionTimeoutMs: 300 }),
});

/** The error a call ended with, and how many connections the silent server saw for it. */
async function failureOf(call: () => Promise<unknown>): Promise<{ error: unknown; attempts: number }> {
  const before = connections;
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, attempts: connections - before };
}

function timedOut(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e.name === 'TimeoutError' && /requestTimeout/.test(e.message)) return true;
  }
  return false;
}

describe('AWS clients against an endpoint that never answers', () => {
  it('an SQS send fails with a timeout after the SDK retried, instead of hanging', async () => {
    const queue = createSqsMessageQueue({
      client: new SQSClient(base()),
      queueUrlPrefix: `${endpoint}/000000000000/`,
    });
    const { error, attempts } = await failureOf(() => queue.send('q-hang', { body: '{}' }));
    expect(timedOut(error)).toBe(true);
    // The SDK's retry strategy still runs: each attempt timed out on its own connection.
    expect(attempts).toBeGreaterThan(1);
  });

  it('a DynamoDB read fails with a timeout', async () => {
    const client = DynamoDBDocumentClient.from(new DynamoDBClient(base()));
    const jobs = createDynamoJobStore({ client, tableName: 'jobs' }).forTenant(parseTenantId('t-hang'));
    const { error, attempts } = await failureOf(() => jobs.get(newJobId()));
    expect(timedOut(error)).toBe(true);
    expect(attempts).toBeGreaterThan(1);
  });

  it('an S3 read fails with a timeout', async () => {
    const objects = createS3ObjectStore({
      client: new S3Client({ ...base(), forcePathStyle: true }),
      bucket: 'b',
    });
    const { error } = await failureOf(() => objects.get('tenants/t-hang/x.xlsx'));
    expect(timedOut(error)).toBe(true);
  });
});

/** The text of a call's arguments, from just after its `(` to the matching `)`. */
function argumentsOf(text: string, start: number): string {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '(') depth += 1;
    else if (text[i] === ')' && --depth === 0) return text.slice(start, i);
  }
  return text.slice(start);
}

describe('every AWS client of the platform', () => {
  // The kind, not the instance: a client built anywhere in src/ without the shared configuration waits for ever.
  it('is built with the shared timeouts', () => {
    const files = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const bare: string[] = [];
    let seen = 0;
    for (const file of files) {
      const text = readFileSync(join('src', file), 'utf8');
      for (const match of text.matchAll(/new (\w+Client)\(/g)) {
        if (match[1] === 'SilopoolClient') continue;
        seen += 1;
        const args = argumentsOf(text, match.index + match[0].length);
        if (!/\.\.\.awsClientConfig\((SQS_LONG_POLLS)?\)/.test(args)) bare.push(`${file}: ${match[1]}`);
      }
    }
    expect(seen).toBeGreaterThan(5);
    expect(bare).toEqual([]);
  });
});
