import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId, type TenantId } from '../../src/core/ids.ts';
import { parseWebhookTargetPolicy } from '../../src/core/webhook-target.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { createWebhookEndpoints } from '../../src/functions/webhook-endpoints.ts';
import { createWebhookHandler } from '../../src/functions/webhook-handler.ts';
import { WEBHOOK_QUEUE } from '../../src/functions/webhook-message.ts';
import { tenantDataFor } from '../../src/ports/placement-data.ts';
import { makeJob } from '../contract/fixtures.ts';
import { startReceiver } from '../security/webhook-fixtures.ts';
import { newTenantId } from '../support/server.ts';
import { firstDelivery } from '../support/sqs-event.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-webhook-incarnation-'));
const platform = openEmbeddedPlatform(dir);
const broken = await startReceiver((res) => res.writeHead(500).end());
const healthy = await startReceiver();
afterAll(async () => {
  await broken.close();
  await healthy.close();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The tenant (onboarded with `url` as its webhook) and the SQS event of one of its finished jobs. */
async function tenantWithFinishedJob(id: TenantId, url: string): Promise<SQSEvent> {
  const { tenant } = await createTenant(platform, {
    id,
    name: 'Webhook',
    config: { webhook: { url, secret: SECRET } },
  });
  const job = makeJob(tenant.id, { status: 'succeeded' });
  await tenantDataFor(platform.stores, tenant).jobs.create(job);
  const body = JSON.stringify({ tenantId: tenant.id, jobId: job.id, status: 'succeeded', version: 1 });
  return firstDelivery(WEBHOOK_QUEUE, job.id, body);
}

// The webhook function on AWS keeps its endpoints' circuits as long as its instance lives, by tenant id. The
// API's reset at onboarding reaches only the API's process, so a warm instance deferred the next customer's
// deliveries under the id (to another URL) for as long as its predecessor's broken endpoint kept the circuit
// open, each deferral a receive on the way to the dead-letter queue.
describe("the webhook function's circuits and a tenant id onboarded again", () => {
  it("delivers the new tenant's webhooks at once, whatever its predecessor's endpoint did", async () => {
    const handler = createWebhookHandler({
      ...platform,
      policy: parseWebhookTargetPolicy({ allowHttp: '1', allowHosts: '127.0.0.1' }),
      timeoutMs: 3000,
    });
    const id = parseTenantId(newTenantId('hook-reuse'));
    const before = await tenantWithFinishedJob(id, broken.url);
    // Failures until the circuit opens (5 in a row by default): then the message is not even attempted.
    for (let i = 0; i < 5; i++) {
      expect((await handler(before)).batchItemFailures).toHaveLength(1);
    }
    const attempts = broken.requests.length;
    expect((await handler(before)).batchItemFailures).toHaveLength(1);
    expect(broken.requests.length).toBe(attempts);

    // Offboarded (its record removed), and the id onboarded again by another customer with its own endpoint.
    await platform.directory.delete(id);
    await new Promise((r) => setTimeout(r, 5));
    const after = await tenantWithFinishedJob(id, healthy.url);
    expect((await handler(after)).batchItemFailures).toEqual([]);
    expect(healthy.requests).toHaveLength(1);
  }, 30_000);

  it('a delivery that waited for a slot goes where the webhook points when its turn comes', async () => {
    // One delivery at a time: the second waits while the first hangs at a receiver that answers late.
    let answerLate: (() => void) | undefined;
    const slow = await startReceiver((res) => {
      answerLate = () => res.writeHead(204).end();
    });
    try {
      const handler = createWebhookHandler({
        ...platform,
        policy: parseWebhookTargetPolicy({ allowHttp: '1', allowHosts: '127.0.0.1' }),
        timeoutMs: 5000,
        endpoints: createWebhookEndpoints({ limits: { maxInFlight: 1 } }),
      });
      const id = parseTenantId(newTenantId('hook-moved'));
      const first = await tenantWithFinishedJob(id, slow.url);
      const tenant = (await platform.directory.get(id))!;
      const job = makeJob(tenant.id, { status: 'succeeded' });
      await tenantDataFor(platform.stores, tenant).jobs.create(job);
      const second = {
        Records: [
          {
            ...first.Records[0]!,
            messageId: `m-${job.id}`,
            body: JSON.stringify({ tenantId: id, jobId: job.id, status: 'succeeded', version: 1 }),
          },
        ],
      } as SQSEvent;
      const running = handler(first);
      while (slow.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      const waiting = handler(second);
      await new Promise((r) => setTimeout(r, 20));
      // The tenant points its webhook elsewhere while the second delivery waits.
      await platform.directory.update(
        { ...tenant, config: { ...tenant.config, webhook: { url: healthy.url, secret: SECRET } } },
        tenant.version,
      );
      const before = healthy.requests.length;
      answerLate?.();
      expect((await running).batchItemFailures).toEqual([]);
      expect((await waiting).batchItemFailures).toEqual([]);
      expect(slow.requests).toHaveLength(1);
      expect(healthy.requests.length).toBe(before + 1);
    } finally {
      await slow.close();
    }
  }, 30_000);
});
