import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import { subscriptionId } from '../../src/core/notifications.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import { parseWebhookTargetPolicy } from '../../src/core/webhook-target.ts';
import { DeliveryDeadlineError } from '../../src/functions/delivery-deadline.ts';
import { createSmtpMailer, sendPush } from '../../src/functions/notification-channels.ts';
import { createWebhookEndpoints } from '../../src/functions/webhook-endpoints.ts';
import { WEBHOOK_QUEUE, webhookMessageFor } from '../../src/functions/webhook-message.ts';
import type { StoreProvider } from '../../src/ports/stores.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { startWebhookDispatcher } from '../../src/runtime/webhook-dispatcher.ts';
import { makeJob, makeTenant, randomTenantId } from '../contract/fixtures.ts';
import { browserKeys } from '../support/push-service.ts';
import { tempDir } from './stand-in.ts';

// A delivery attempt past its deadline (`attemptTimeoutMs`) frees its slot and is retried. Its outgoing call
// went on (up to the network timeout, or for good where that is longer): the receiver held a second request
// beside the retry. Real local servers that accept a connection and never answer; the network timeouts are a
// minute here, so only the attempt's deadline can close the connection while a test runs.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP server (HTTP when `http`) that takes connections and never answers: each socket, and when it closed. */
async function silentServer(http: boolean) {
  const sockets: { socket: Socket; closed: boolean }[] = [];
  const track = (socket: Socket) => {
    const entry = { socket, closed: false };
    sockets.push(entry);
    socket.on('close', () => (entry.closed = true));
  };
  const server: Server = http ? createHttpServer(() => undefined) : createTcpServer(() => undefined);
  server.on('connection', track);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    for (const { socket } of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, sockets };
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const policy = parseWebhookTargetPolicy({ allowHttp: 'true', allowHosts: '127.0.0.1' });
const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const ATTEMPT_MS = 300;
const NETWORK_MS = 60_000;

describe('a delivery attempt past its deadline has its outgoing call aborted', () => {
  it('webhook: the receiver that never answers sees the connection closed', async () => {
    const receiver = await silentServer(true);
    const queue = createSqliteMessageQueue(openDatabase(join(tempDir('silopool-abort-'), 'q.sqlite')), {
      pollIntervalMs: 20,
    });
    await ensureQueue(queue, WEBHOOK_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 100 });
    const base = makeTenant(randomTenantId('abort'));
    const webhook = { url: `http://127.0.0.1:${receiver.port}/hook`, secret };
    const tenant: Tenant = { ...base, config: { ...base.config, webhook } };
    const job = makeJob(tenant.id, { status: 'succeeded' });
    const directory = { get: async () => tenant } as unknown as TenantDirectory;
    const stores = {
      jobs: () => ({ forTenant: () => ({ get: async () => job }) }),
      objects: () => ({}),
    } as unknown as StoreProvider;
    const errors: unknown[] = [];
    const dispatcher = startWebhookDispatcher({
      queue,
      directory,
      stores,
      policy,
      concurrency: 2,
      timeoutMs: NETWORK_MS,
      endpoints: createWebhookEndpoints({ limits: { maxInFlight: 1, attemptTimeoutMs: ATTEMPT_MS } }),
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => dispatcher.stop());
    await queue.send(WEBHOOK_QUEUE, webhookMessageFor(job));
    await until('the POST', () => receiver.sockets.length >= 1);
    // Before: open until the network timeout (a minute), beside the retry's own request.
    await until('the connection closed', () => receiver.sockets[0]!.closed);
    expect(errors.some((e) => e instanceof DeliveryDeadlineError)).toBe(true);
  }, 30_000);

  it('web push: the push service that never answers sees the connection closed', async () => {
    const service = await silentServer(true);
    const endpoint = `http://127.0.0.1:${service.port}/push/1`;
    const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@silopool.test' };
    const subscription = {
      id: subscriptionId(endpoint),
      endpoint,
      keys: browserKeys().keys,
      createdAt: new Date().toISOString(),
    };
    const notice = { tenantId: 't', jobId: 'j', title: 'Job succeeded', body: 'done', path: '/jobs/j' };
    const endpoints = createWebhookEndpoints({ limits: { attemptTimeoutMs: ATTEMPT_MS } });
    const outcome = await endpoints.run('push-key', (signal) =>
      sendPush({ vapid, policy, timeoutMs: NETWORK_MS }, subscription, notice as never, signal),
    );
    expect(outcome.kind).toBe('failed');
    await until('the connection closed', () => service.sockets.length === 1 && service.sockets[0]!.closed);
  }, 30_000);

  it('email: the SMTP server that never greets sees the connection closed', async () => {
    const smtp = await silentServer(false);
    const mailer = createSmtpMailer({
      url: `smtp://127.0.0.1:${smtp.port}`,
      from: 'Silopool <noreply@silopool.test>',
      timeoutMs: NETWORK_MS,
    });
    cleanups.push(() => mailer.close());
    const endpoints = createWebhookEndpoints({ limits: { attemptTimeoutMs: ATTEMPT_MS } });
    const outcome = await endpoints.run('mail-key', (signal) =>
      mailer.send({ to: 'user@silopool.test', subject: 's', text: 't' }, signal),
    );
    expect(outcome.kind).toBe('failed');
    await until('the connection closed', () => smtp.sockets.length === 1 && smtp.sockets[0]!.closed);
  }, 30_000);
});
