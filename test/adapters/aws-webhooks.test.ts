import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoJobStore } from '../../src/adapters/aws/job-store.ts';
import { createS3ObjectStore } from '../../src/adapters/aws/object-store.ts';
import { createDynamoTenantDirectory } from '../../src/adapters/aws/tenant-directory.ts';
import { newJobId, parseTenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import { createWebhookHandler } from '../../src/functions/webhook-handler.ts';
import type { StoreProvider } from '../../src/ports/stores.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';

// The webhook function as deployed on AWS (SQS event source), on DynamoDB and S3 emulators and a real
// HTTP receiver: a delivery is signed; a refused one is reported as a batch item failure for SQS to retry.
let aws: AwsEmulators;
const received: { headers: Record<string, string>; body: string }[] = [];
let status = 204;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (status < 300) received.push({ headers: req.headers as Record<string, string>, body });
    res.writeHead(status).end();
  });
});

beforeAll(async () => {
  aws = await startAwsEmulators();
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
}, 60_000);
afterAll(async () => {
  receiver.close();
  await aws?.stop();
});

describe('the webhook function on AWS', () => {
  it('posts a signed notification for a finished job and reports refused deliveries for retry', async () => {
    const [tenantsTable, jobsTable] = await Promise.all([
      aws.createTable('tenants'),
      aws.createTable('jobs'),
    ]);
    const directory = createDynamoTenantDirectory({ client: aws.dynamo, tableName: tenantsTable });
    const jobStore = createDynamoJobStore({ client: aws.dynamo, tableName: jobsTable });
    const stores: StoreProvider = {
      jobs: () => jobStore,
      objects: () => createS3ObjectStore({ client: aws.s3, bucket: 'unused' }),
      provision: async () => undefined,
      destroy: async () => undefined,
      close: async () => undefined,
    };
    const id = parseTenantId('hooked');
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const now = new Date().toISOString();
    const tenant: Tenant = {
      id,
      name: 'Hooked',
      status: 'active',
      placement: 'shared',
      plan: 'standard',
      config: { ...emptyConfig(), webhook: { url, secret } },
      apiKeys: [],
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    await directory.create(tenant);
    const job: JobRecord = {
      id: newJobId(),
      tenantId: id,
      model: 'finance',
      modelVersion: '1.0.0',
      status: 'succeeded',
      input: {},
      effectiveInput: {},
      rules: {},
      artifacts: [],
      attempts: 1,
      cost: 1,
      priority: 0,
      createdAt: now,
      updatedAt: now,
      version: 3,
    };
    await jobStore.forTenant(id).create(job);
    const handler = createWebhookHandler({ directory, stores });
    const body = JSON.stringify({ tenantId: id, jobId: job.id, status: 'succeeded', version: 3 });
    const message = {
      messageId: 'm1',
      receiptHandle: 'r1',
      body,
      attributes: {},
      receiveCount: 1,
      sentAt: 0,
      firstReceivedAt: 0,
    };

    status = 500;
    expect(await handler(toSqsEvent('system_webhooks', [message]))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });
    status = 204;
    expect(await handler(toSqsEvent('system_webhooks', [message]))).toEqual({ batchItemFailures: [] });
    expect(received).toHaveLength(1);
    const payload = new Webhook(secret).verify(received[0]!.body, received[0]!.headers) as {
      type: string;
      data: { id: string };
    };
    expect(payload).toMatchObject({ type: 'job.succeeded', data: { id: job.id } });
  }, 60_000);
});
