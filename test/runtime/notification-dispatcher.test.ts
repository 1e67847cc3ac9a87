import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { ensureQueue } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { type JobId, parseTenantId, type TenantId } from '../../src/core/ids.ts';
import { subscriptionId, userKey } from '../../src/core/notifications.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { parseWebhookTargetPolicy } from '../../src/core/webhook-target.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { createModelHandler } from '../../src/functions/model-handler.ts';
import { NOTIFICATION_QUEUE, notificationMessageFor } from '../../src/functions/notification-message.ts';
import {
  readByKey,
  renewAccess,
  writeUserNotifications,
} from '../../src/functions/notification-preferences.ts';
import type { MessageQueue } from '../../src/ports/message-queue.ts';
import { laneDataFor } from '../../src/ports/placement-data.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { startNotificationDispatcher } from '../../src/runtime/notification-dispatcher.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';
import {
  type BrowserKeys,
  browserKeys,
  decryptPush,
  type PushService,
  startPushService,
} from '../support/push-service.ts';
import { newTenantId } from '../support/server.ts';

// Web Push from the dispatcher to a local HTTP server standing in for the push service (the real ones are
// Google's and Mozilla's, unreachable offline), on the real SQLite store and queue.
const MODEL_QUEUE = sharedQueueName('finance');
const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@silopool.test' };
let dir: string;
let platform: EmbeddedPlatform;
let push: PushService;
let dispatcher: { stop(): Promise<void> };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-notify-'));
  platform = openEmbeddedPlatform(dir);
  await ensureQueue(platform.queue, MODEL_QUEUE);
  await ensureQueue(platform.queue, NOTIFICATION_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 12 });
  push = await startPushService();
  dispatcher = startNotificationDispatcher({
    queue: platform.queue,
    directory: platform.directory,
    stores: platform.stores,
    push: {
      vapid,
      policy: parseWebhookTargetPolicy({ allowHttp: 'true', allowHosts: '127.0.0.1' }),
      timeoutMs: 60_000,
    },
  });
});

afterAll(async () => {
  await push?.close();
  await dispatcher?.stop();
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A tenant with one user subscribed (and opted in) at `path` of the push service. */
async function subscribedTenant(prefix: string) {
  const id = parseTenantId(newTenantId(prefix));
  await createTenant(platform, { id, name: prefix });
  // What the settings route does at a user's first opt-in: the tenant's jobs are announced from then on.
  const created = (await platform.directory.get(id))!;
  const tenant = await platform.directory.update(
    { ...created, notifiesUsers: true, version: created.version + 1, updatedAt: new Date().toISOString() },
    created.version,
  );
  const data = tenantDataAt(platform.stores, { kind: 'shared' }, id);
  const browser = browserKeys();
  const path = `/push/${id}`;
  const endpoint = `${push.url}${path}`;
  const subject = `user-${id}`;
  await writeUserNotifications(data.objects, {
    subject,
    optIn: { email: false, push: true },
    push: [
      { id: subscriptionId(endpoint), endpoint, keys: browser.keys, createdAt: new Date().toISOString() },
    ],
  });
  // The route records that the user's token grants the tenant (for an hour here).
  await renewAccess(data.objects, subject, Date.now() + 3_600_000, tenant.incarnation);
  return { id, tenant, data, browser, path, subject };
}

/** Runs the tenant's next model message through the handler (`queue` may fail sends); true if it failed. */
async function runNext(queue: MessageQueue): Promise<boolean> {
  const handler = createModelHandler({
    directory: platform.directory,
    dataFor: laneDataFor(platform.stores),
    queue,
    notifications: true,
  });
  const messages = await platform.queue.receive(MODEL_QUEUE, { maxMessages: 1, visibilityTimeoutSec: 30 });
  expect(messages).toHaveLength(1);
  const result = await handler(toSqsEvent(MODEL_QUEUE, messages));
  const failed = result.batchItemFailures.length > 0;
  if (failed) await platform.queue.changeVisibility(MODEL_QUEUE, messages[0]!.receiptHandle, 0);
  else await platform.queue.delete(MODEL_QUEUE, messages[0]!.receiptHandle);
  return failed;
}

function noticeOf(body: Buffer, browser: BrowserKeys) {
  return JSON.parse(decryptPush(body, browser)) as Record<string, string>;
}

describe('Web Push notifications', { timeout: 60_000 }, () => {
  it("a finished job's push is encrypted for the subscription (RFC 8291) and signed with the platform's VAPID key (RFC 8292)", async () => {
    const { id, tenant, data, browser, path } = await subscribedTenant('push');
    const { job } = await submitJob(platform.intake, { tenant, data, model: 'finance', input: {} });
    expect(await runNext(platform.queue)).toBe(false);

    const received = await push.waitFor((r) => r.path === path);
    expect(received.headers['content-encoding']).toBe('aes128gcm');
    expect(Number(received.headers.ttl)).toBeGreaterThan(0);
    expect(noticeOf(received.body, browser)).toMatchObject({
      tenantId: id,
      jobId: job.id,
      status: 'succeeded',
      path: `/t/${id}/jobs/${job.id}`,
    });

    // `vapid t=<JWT>, k=<public key>`: the JWT's audience is the push service's origin, signed ES256 by k.
    const authorization = String(received.headers.authorization);
    const [, token, key] = /^vapid t=([^,]+), k=(.+)$/.exec(authorization) ?? [];
    expect(key).toBe(vapid.publicKey);
    const [header, payload, signature] = token!.split('.');
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toMatchObject({
      aud: push.url,
      sub: vapid.subject,
    });
    const point = Buffer.from(key!, 'base64url');
    const publicKey = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
    const signed = verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature!, 'base64url'),
    );
    expect(signed).toBe(true);
  });

  it('a crash between the final commit and the announcement still pushes once', async () => {
    const { tenant, data, browser, path } = await subscribedTenant('crash');
    const { job } = await submitJob(platform.intake, { tenant, data, model: 'finance', input: {} });
    // The announcement is enqueued, then the process "dies" before the job is marked announced.
    const faulty: MessageQueue = {
      ...platform.queue,
      async send(name, message) {
        const sent = await platform.queue.send(name, message);
        if (name === NOTIFICATION_QUEUE) throw new Error('crash after the notification enqueue');
        return sent;
      },
    };
    expect(await runNext(faulty)).toBe(true);
    expect((await data.jobs.get(job.id))?.announcedAt).toBeUndefined();
    // The model message comes back; the job is terminal and unannounced: announced now, same dedup id.
    expect(await runNext(platform.queue)).toBe(false);
    expect((await data.jobs.get(job.id))?.announcedAt).toBeDefined();

    const received = await push.waitFor((r) => r.path === path);
    expect(noticeOf(received.body, browser)).toMatchObject({ jobId: job.id });
    await new Promise((r) => setTimeout(r, 2000));
    expect(push.received.filter((r) => r.path === path)).toHaveLength(1);
  });

  it('a subscription the push service says is gone (410) is removed, and not retried', async () => {
    const { id, tenant, data, path, subject } = await subscribedTenant('gone');
    push.answer(path, 410);
    const { job } = await submitJob(platform.intake, { tenant, data, model: 'finance', input: {} });
    await platform.queue.send(NOTIFICATION_QUEUE, notificationMessageFor({ ...job, status: 'succeeded' }));
    await expect
      .poll(async () => (await readByKey(data.objects, userKey(subject)))?.push.length, { timeout: 15_000 })
      .toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(push.received.filter((r) => r.path === path)).toHaveLength(1);
    await drainModelQueue(id);
  });

  it("a tenant whose push service hangs does not hold up another tenant's push", async () => {
    const slow = await subscribedTenant('slow');
    push.answer(slow.path, 'hang');
    const ids: JobId[] = [];
    // More than the dispatcher holds at once (64): without per-tenant limits they would take every slot.
    for (let i = 0; i < 80; i++) {
      const { job } = await submitJob(platform.intake, {
        tenant: slow.tenant,
        data: slow.data,
        model: 'finance',
        input: {},
      });
      ids.push(job.id);
      await platform.queue.send(NOTIFICATION_QUEUE, notificationMessageFor({ ...job, status: 'succeeded' }));
    }
    await expect.poll(() => push.hanging(), { timeout: 15_000 }).toBeGreaterThan(0);

    const fast = await subscribedTenant('fast');
    const { job } = await submitJob(platform.intake, {
      tenant: fast.tenant,
      data: fast.data,
      model: 'finance',
      input: {},
    });
    await platform.queue.send(NOTIFICATION_QUEUE, notificationMessageFor({ ...job, status: 'succeeded' }));
    const received = await push.waitFor((r) => r.path === fast.path, 15_000);
    expect(noticeOf(received.body, fast.browser)).toMatchObject({ tenantId: fast.id, jobId: job.id });
    // The slow tenant still hangs, at most its endpoint's in-flight limit at once.
    expect(push.hanging()).toBeGreaterThan(0);
    expect(push.hanging()).toBeLessThanOrEqual(4);
  });
});

/** Deletes a tenant's model messages a test left unconsumed, so the next test receives only its own. */
async function drainModelQueue(tenantId: TenantId) {
  const left = await platform.queue.receive(MODEL_QUEUE, { maxMessages: 10, visibilityTimeoutSec: 30 });
  for (const m of left) {
    if (m.body.includes(tenantId)) await platform.queue.delete(MODEL_QUEUE, m.receiptHandle);
    else await platform.queue.changeVisibility(MODEL_QUEUE, m.receiptHandle, 0);
  }
}
