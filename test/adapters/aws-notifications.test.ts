import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { ensureQueue, WEBHOOK_QUEUE } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { subscriptionId, userKey } from '../../src/core/notifications.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { webhookTargetPolicyFromEnv } from '../../src/core/webhook-target.ts';
import { type AwsPorts, createAwsPorts, createHandlerDeps } from '../../src/entry/aws-wiring.ts';
import { createModelHandler } from '../../src/functions/model-handler.ts';
import { createNotificationHandler } from '../../src/functions/notification-handler.ts';
import {
  deliveryMessageFor,
  NOTIFICATION_QUEUE,
  notificationMessageFor,
} from '../../src/functions/notification-message.ts';
import { renewAccess, writeUserNotifications } from '../../src/functions/notification-preferences.ts';
import { createWebhookEndpoints } from '../../src/functions/webhook-endpoints.ts';
import { createSequencedJobIntake } from '../../src/ports/job-intake-sequence.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { browserKeys, decryptPush, type PushService, startPushService } from '../support/push-service.ts';
import { newTenantId } from '../support/server.ts';
import { type SmtpInbox, startSmtpInbox } from '../support/smtp-inbox.ts';

// User notifications on the AWS path, on fauxqs (SQS, S3) and dynalite (DynamoDB): the model Lambda entry
// (and the AWS function threads' deps) announce a finished job to `system_notifications`; the notification
// Lambda entry, invoked with SQS events as its event source would, fans it out and delivers an email to a
// real SMTP server and a Web Push to a local push service, once.
type Lambda = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
const MODEL_QUEUE = sharedQueueName('finance');
let aws: AwsEmulators;
let ports: AwsPorts;
let inbox: SmtpInbox;
let push: PushService;
let env: Record<string, string>;
let modelLambda: Lambda;
let notificationLambda: Lambda;

beforeAll(async () => {
  aws = await startAwsEmulators();
  [inbox, push] = await Promise.all([startSmtpInbox(), startPushService()]);
  const vapid = webpush.generateVAPIDKeys();
  env = {
    ...(await aws.platformEnv()),
    // What the CDK app sets: the platform delivers user notifications; SMTP and VAPID from its secret.
    SILOPOOL_NOTIFICATIONS: 'on',
    SILOPOOL_SMTP_URL: inbox.url,
    SILOPOOL_SMTP_FROM: 'Silopool <noreply@silopool.test>',
    SILOPOOL_VAPID_PUBLIC_KEY: vapid.publicKey,
    SILOPOOL_VAPID_PRIVATE_KEY: vapid.privateKey,
    SILOPOOL_VAPID_SUBJECT: 'mailto:ops@silopool.test',
    // The local push service is plain http on loopback: allowlisted, as an operator would a test service.
    SILOPOOL_WEBHOOK_ALLOW_HTTP: '1',
    SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    PUBLIC_URL: 'https://silopool.example.com',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  };
  // The Lambda entries read their configuration from the environment, as on Lambda.
  Object.assign(process.env, env);
  ports = createAwsPorts(env);
  await ensureQueue(ports.queue, MODEL_QUEUE);
  await ensureQueue(ports.queue, WEBHOOK_QUEUE);
  await ensureQueue(ports.queue, NOTIFICATION_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 12 });
  ({ handler: modelLambda } = await import('../../src/entry/lambda-function.ts'));
  ({ handler: notificationLambda } = await import('../../src/entry/lambda-notifications.ts'));
}, 60_000);

afterAll(async () => {
  await Promise.all([inbox?.close(), push?.close()]);
  await ports?.close();
  await aws?.stop();
});

/** What an SQS event source does: receive a batch, invoke, delete what did not fail; the records seen. */
async function drain(queue: string, lambda: Lambda | ((event: SQSEvent) => Promise<SQSBatchResponse>)) {
  let seen = 0;
  for (;;) {
    const messages = await ports.queue.receive(queue, { maxMessages: 10, waitTimeSec: 0 });
    if (messages.length === 0) return seen;
    seen += messages.length;
    const result = await lambda(toSqsEvent(queue, messages, 'us-east-1'), {} as Context);
    expect(result.batchItemFailures).toEqual([]);
    for (const m of messages) await ports.queue.delete(queue, m.receiptHandle);
  }
}

/** A shared tenant with one user opted in to email (verified) and to push on one device. */
async function tenantWithUser(prefix: string) {
  const id = parseTenantId(newTenantId(prefix));
  await createTenant(ports, { id, name: prefix });
  // What the settings route does when a user first opts in: the tenant's jobs are announced from then on.
  const created = (await ports.directory.get(id))!;
  const tenant = await ports.directory.update(
    { ...created, notifiesUsers: true, version: created.version + 1, updatedAt: new Date().toISOString() },
    created.version,
  );
  const data = tenantDataAt(ports.stores, { kind: 'shared' }, id);
  const browser = browserKeys();
  const path = `/push/${id}`;
  const endpoint = `${push.url}${path}`;
  const address = `user@${id}.example.com`;
  await writeUserNotifications(data.objects, {
    subject: `user-${id}`,
    email: { address, verified: true },
    optIn: { email: true, push: true },
    push: [
      { id: subscriptionId(endpoint), endpoint, keys: browser.keys, createdAt: new Date().toISOString() },
    ],
  });
  await renewAccess(data.objects, `user-${id}`, Date.now() + 3_600_000, tenant.incarnation);
  return { id, tenant, data, browser, path, address };
}

describe('user notifications on AWS', { timeout: 60_000 }, () => {
  it('a job finished by the model Lambda is announced, and the notification Lambda mails and pushes it once', async () => {
    const { id, tenant, data, browser, path, address } = await tenantWithUser('awsn');
    const { job } = await submitJob(createSequencedJobIntake(ports), {
      tenant,
      data,
      model: 'finance',
      input: {},
    });
    expect(await drain(MODEL_QUEUE, modelLambda)).toBe(1);
    const finished = await data.jobs.get(job.id);
    expect(finished).toMatchObject({ status: 'succeeded' });
    expect(finished?.announcedAt).toBeDefined();

    // One announcement, fanned out to one email and one push, each delivered.
    expect(await drain(NOTIFICATION_QUEUE, notificationLambda)).toBe(3);
    const mail = await inbox.waitFor((m) => m.to.includes(address));
    expect(mail.subject).toContain(id);
    expect(mail.subject).toContain(job.id);
    expect(mail.text).toContain(`https://silopool.example.com/t/${id}/jobs/${job.id}`);
    const received = await push.waitFor((r) => r.path === path);
    expect(JSON.parse(decryptPush(received.body, browser))).toMatchObject({
      tenantId: id,
      jobId: job.id,
      status: 'succeeded',
    });

    // Announced again (a crash before the mark, a redelivery): the queue drops the copy by its dedup id.
    await ports.queue.send(NOTIFICATION_QUEUE, notificationMessageFor(finished!));
    expect(await drain(NOTIFICATION_QUEUE, notificationLambda)).toBe(0);
    expect(inbox.mails.filter((m) => m.to.includes(address))).toHaveLength(1);
    expect(push.received.filter((r) => r.path === path)).toHaveLength(1);
  });

  it('the AWS function threads announce too, and a tenant without opted-in users gets nothing', async () => {
    const handler = createModelHandler(await createHandlerDeps({ env }));
    const { id, tenant, data, path, address } = await tenantWithUser('awst');
    const quiet = parseTenantId(newTenantId('awsq'));
    const other = await createTenant(ports, { id: quiet, name: 'quiet' });
    const quietData = tenantDataAt(ports.stores, { kind: 'shared' }, quiet);
    const { job } = await submitJob(createSequencedJobIntake(ports), {
      tenant,
      data,
      model: 'finance',
      input: {},
    });
    await submitJob(createSequencedJobIntake(ports), {
      tenant: other.tenant,
      data: quietData,
      model: 'finance',
      input: {},
    });
    expect(await drain(MODEL_QUEUE, handler)).toBe(2);
    expect((await data.jobs.get(job.id))?.announcedAt).toBeDefined();

    // One announcement: a tenant none of whose users opted in skips it (and its queue); the other fans
    // out to one email and one push.
    expect(await drain(NOTIFICATION_QUEUE, notificationLambda)).toBe(3);
    await inbox.waitFor((m) => m.to.includes(address) && m.subject.includes(job.id));
    await push.waitFor((r) => r.path === path);
    expect(inbox.mails.filter((m) => m.subject.includes(quiet))).toEqual([]);
    expect(id).not.toBe(quiet);
  });

  it("a tenant whose push service fails is retried and then held by its circuit, while another tenant's pushes go through", async () => {
    const failing = await tenantWithUser('awsf');
    const healthy = await tenantWithUser('awsh');
    push.answer(failing.path, 500);
    const errors: unknown[] = [];
    // The notification Lambda's handler with a circuit that opens at the first failure.
    const handler = createNotificationHandler({
      directory: ports.tenantViews,
      stores: ports.stores,
      queue: ports.queue,
      push: {
        vapid: {
          publicKey: env.SILOPOOL_VAPID_PUBLIC_KEY!,
          privateKey: env.SILOPOOL_VAPID_PRIVATE_KEY!,
          subject: 'mailto:ops@silopool.test',
        },
        policy: webhookTargetPolicyFromEnv(env),
      },
      endpoints: createWebhookEndpoints({ policy: { failureThreshold: 1 } }),
      onError: (error) => errors.push(error),
    });
    const deliveryOf = async (t: Awaited<ReturnType<typeof tenantWithUser>>) => {
      const { job } = await submitJob(createSequencedJobIntake(ports), {
        tenant: t.tenant,
        data: t.data,
        model: 'finance',
        input: {},
      });
      const subject = `user-${t.id}`;
      const message = deliveryMessageFor(
        { kind: 'job', tenantId: t.id, jobId: job.id, status: 'queued' },
        'push',
        userKey(subject),
        subscriptionId(`${push.url}${t.path}`),
      );
      await ports.queue.send(NOTIFICATION_QUEUE, message);
    };
    await deliveryOf(failing);
    await deliveryOf(healthy);
    // As the event source hands them over: received, so failures can set their visibility (the backoff).
    const received = await ports.queue.receive(NOTIFICATION_QUEUE, { maxMessages: 10, waitTimeSec: 1 });
    const records = [failing, healthy].map((t) => received.find((m) => m.body.includes(t.id))!);
    expect(records.every(Boolean)).toBe(true);
    const event = () => toSqsEvent(NOTIFICATION_QUEUE, records, 'us-east-1');
    const pushesTo = (path: string) => push.received.filter((r) => r.path === path).length;
    const before = pushesTo(healthy.path);

    // The failing push is a batch item failure; the other tenant's is delivered in the same batch.
    expect(await handler(event())).toEqual({
      batchItemFailures: [{ itemIdentifier: records[0]!.messageId }],
    });
    expect(errors).toHaveLength(1);
    expect(pushesTo(healthy.path)).toBe(before + 1);

    // The failing tenant's circuit is open: its delivery is deferred without an attempt, the other's is not.
    push.answer(failing.path, 201);
    expect(await handler(event())).toEqual({
      batchItemFailures: [{ itemIdentifier: records[0]!.messageId }],
    });
    // One request in all: the first round's, answered 500.
    expect(pushesTo(failing.path)).toBe(1);
    expect(pushesTo(healthy.path)).toBe(before + 2);
  });
});
