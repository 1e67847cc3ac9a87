import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJobId, parseTenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { emptyConfig } from '../../src/core/tenant.ts';
import { webhookTargetPolicyFromEnv } from '../../src/core/webhook-target.ts';
import { WebhookDeliveryError } from '../../src/functions/webhook-delivery.ts';
import { createWebhookEndpoints } from '../../src/functions/webhook-endpoints.ts';
import { createWebhookHandler } from '../../src/functions/webhook-handler.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';
import { makeTenant } from '../contract/fixtures.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { sharedJobStores } from '../support/aws-shared-stores.ts';

// The webhook function as deployed on AWS (SQS event source), on DynamoDB and S3 emulators and a real
// HTTP receiver: a delivery is signed; a refused one is reported as a batch item failure for SQS to retry;
// the receiver on loopback is reached only because the policy allowlists it, as the Lambda reads it from env.
const received: { headers: Record<string, string>; body: string }[] = [];
let requests = 0;
let aws: AwsEmulators;
let status = 204;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    requests += 1;
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
    const { directory, jobStore, stores } = await sharedJobStores(aws);
    const id = parseTenantId('hooked');
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const now = new Date().toISOString();
    const tenant = makeTenant(id, { name: 'Hooked', config: { ...emptyConfig(), webhook: { url, secret } } });
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
    const errors: unknown[] = [];
    const handler = createWebhookHandler({
      directory,
      stores,
      policy: webhookTargetPolicyFromEnv({
        SILOPOOL_WEBHOOK_ALLOW_HTTP: '1',
        SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      }),
      onError: (error) => errors.push(error),
    });
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

    // Without the allowlist the same function refuses the loopback receiver: a batch item failure, no request.
    const strict = createWebhookHandler({
      directory,
      stores,
      policy: webhookTargetPolicyFromEnv({ SILOPOOL_WEBHOOK_ALLOW_HTTP: '1' }),
      onError: (error) => errors.push(error),
    });
    const before = requests;
    expect(await strict(toSqsEvent('system_webhooks', [message]))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });
    expect(requests).toBe(before);
    const refusal = errors.at(-1) as WebhookDeliveryError;
    expect(refusal).toBeInstanceOf(WebhookDeliveryError);
    expect(refusal.refused).toBe(true);
    expect(refusal.message).toContain('refused: private address');

    // An endpoint whose circuit this instance opened: its record is reported for retry, not attempted.
    const breaking = createWebhookHandler({
      directory,
      stores,
      policy: webhookTargetPolicyFromEnv({
        SILOPOOL_WEBHOOK_ALLOW_HTTP: '1',
        SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      }),
      endpoints: createWebhookEndpoints({ policy: { failureThreshold: 1 } }),
      onError: (error) => errors.push(error),
    });
    status = 500;
    expect(await breaking(toSqsEvent('system_webhooks', [message]))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });
    status = 204;
    const whileOpen = requests;
    expect(await breaking(toSqsEvent('system_webhooks', [message]))).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });
    expect(requests).toBe(whileOpen);
  }, 60_000);
});
