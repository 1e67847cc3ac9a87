import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import type { JobId, TenantId } from '../../src/core/ids.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import { parseWebhookTargetPolicy } from '../../src/core/webhook-target.ts';
import { DeliveryDeadlineError } from '../../src/functions/delivery-deadline.ts';
import { NOTIFICATION_QUEUE, notificationMessageFor } from '../../src/functions/notification-message.ts';
import { createWebhookEndpoints } from '../../src/functions/webhook-endpoints.ts';
import { WEBHOOK_QUEUE, webhookMessageFor } from '../../src/functions/webhook-message.ts';
import type { MessageQueue } from '../../src/ports/message-queue.ts';
import type { StoreProvider } from '../../src/ports/stores.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { startNotificationDispatcher } from '../../src/runtime/notification-dispatcher.ts';
import { startWebhookDispatcher } from '../../src/runtime/webhook-dispatcher.ts';
import { makeJob, makeTenant, randomTenantId } from '../contract/fixtures.ts';

// Dispatchers over the real SQLite queue, with a stand-in directory and store whose calls for some tenants
// or jobs never answer (a store that hangs rather than fails), and a local receiver for the webhooks.
const never = new Promise<never>(() => {});
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openQueue(name: string): Promise<MessageQueue & { deleted: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-deadline-'));
  const db = openDatabase(join(dir, 'q.sqlite'));
  cleanups.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const real = createSqliteMessageQueue(db, { pollIntervalMs: 20 });
  await ensureQueue(real, name, { visibilityTimeoutSec: 30, maxReceiveCount: 100 });
  const deleted: string[] = [];
  // Deletions seen with the body they deleted: a message the dispatcher finished with.
  const bodies = new Map<string, string>();
  return Object.assign(Object.create(real) as MessageQueue, {
    deleted,
    async receive(...args: Parameters<MessageQueue['receive']>) {
      const batch = await real.receive(...args);
      for (const m of batch) bodies.set(m.receiptHandle, m.body);
      return batch;
    },
    async delete(queue: string, receiptHandle: string) {
      await real.delete(queue, receiptHandle);
      deleted.push(bodies.get(receiptHandle) ?? '');
    },
  });
}

/** A receiver answering 204, with the jobs it was told of. */
async function startReceiver(): Promise<{ url: string; jobs: string[] }> {
  const jobs: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      jobs.push((JSON.parse(body) as { data: { id: string } }).data.id);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, jobs };
}

/** Tenants by id; `get` never answers for those in `stuck`. */
function standInDirectory(tenants: Tenant[], stuck: Set<string>) {
  const calls: string[] = [];
  const directory = {
    get(id: TenantId) {
      calls.push(id);
      return stuck.has(id) ? never : Promise.resolve(tenants.find((t) => t.id === id));
    },
  } as unknown as TenantDirectory;
  return { directory, calls };
}

/** A job store whose `get` answers the jobs given and never answers for those in `stuck`. */
function standInStores(jobs: Map<string, ReturnType<typeof makeJob>>, stuck: Set<string>) {
  const calls: string[] = [];
  const stores = {
    jobs: () => ({
      forTenant: () => ({
        get(id: JobId) {
          calls.push(id);
          return stuck.has(id) ? never : Promise.resolve(jobs.get(id));
        },
      }),
    }),
    objects: () => ({}),
  } as unknown as StoreProvider;
  return { stores, calls };
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Until the directory was asked for two distinct tenants of `hung`: both places of a dispatcher are held. */
function untilTwoHungReads(calls: string[], hung: TenantId[]): Promise<void> {
  return until(
    'two hung reads',
    () => new Set(calls.filter((id) => hung.includes(id as TenantId))).size >= 2,
  );
}

const policy = parseWebhookTargetPolicy({ allowHttp: 'true', allowHosts: '127.0.0.1' });
const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

describe('delivery deadlines: a handler that never settles frees its place', () => {
  it('webhooks: hung tenant reads take every place, yet a later delivery still goes', async () => {
    const queue = await openQueue(WEBHOOK_QUEUE);
    const receiver = await startReceiver();
    const webhook = { url: receiver.url, secret };
    const hung = [randomTenantId('hung'), randomTenantId('hung'), randomTenantId('hung')];
    const ok = makeTenant(randomTenantId('ok'), { config: { ...makeTenant(hung[0]!).config, webhook } });
    const job = makeJob(ok.id, { status: 'succeeded' });
    const { directory, calls } = standInDirectory([ok], new Set(hung));
    const { stores } = standInStores(new Map([[job.id, job]]), new Set());
    const errors: unknown[] = [];
    for (const id of hung)
      await queue.send(WEBHOOK_QUEUE, webhookMessageFor(makeJob(id, { status: 'succeeded' })));
    const dispatcher = startWebhookDispatcher({
      queue,
      directory,
      stores,
      policy,
      concurrency: 2,
      visibilitySec: 1,
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => dispatcher.stop());
    // Both places are held by deliveries waiting on a directory that never answers.
    await untilTwoHungReads(calls, hung);
    await queue.send(WEBHOOK_QUEUE, webhookMessageFor(job));
    await until('the delivery after the hangs', () => receiver.jobs.includes(job.id));
    expect(errors.some((e) => e instanceof DeliveryDeadlineError)).toBe(true);
  }, 20_000);

  it('webhooks: hung store reads take every slot of an endpoint, yet its next delivery still goes', async () => {
    const queue = await openQueue(WEBHOOK_QUEUE);
    const receiver = await startReceiver();
    const tenant = makeTenant(randomTenantId('slots'));
    const withHook = { ...tenant, config: { ...tenant.config, webhook: { url: receiver.url, secret } } };
    const hungJobs = [makeJob(tenant.id, { status: 'succeeded' }), makeJob(tenant.id, { status: 'failed' })];
    const job = makeJob(tenant.id, { status: 'succeeded' });
    const { directory } = standInDirectory([withHook], new Set());
    const { stores, calls } = standInStores(new Map([[job.id, job]]), new Set(hungJobs.map((j) => j.id)));
    const errors: unknown[] = [];
    for (const j of hungJobs) await queue.send(WEBHOOK_QUEUE, { ...webhookMessageFor(j), groupId: j.id });
    const dispatcher = startWebhookDispatcher({
      queue,
      directory,
      stores,
      policy,
      // The dispatcher's places are plenty and its visibility long: only the endpoint's one slot is short.
      concurrency: 8,
      endpoints: createWebhookEndpoints({ limits: { maxInFlight: 1, attemptTimeoutMs: 200 } }),
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => dispatcher.stop());
    await until('a hung store read', () => calls.length >= 1);
    await queue.send(WEBHOOK_QUEUE, { ...webhookMessageFor(job), groupId: job.id });
    await until('the delivery after the hangs', () => receiver.jobs.includes(job.id));
    expect(errors.some((e) => e instanceof DeliveryDeadlineError)).toBe(true);
  }, 20_000);

  it('notifications: hung fan-outs take every place, yet a later message is still handled', async () => {
    const queue = await openQueue(NOTIFICATION_QUEUE);
    const hung = [randomTenantId('hung'), randomTenantId('hung'), randomTenantId('hung')];
    // A tenant gone from the directory: its announcement is handled (nothing to send) and deleted.
    const gone = randomTenantId('gone');
    const { directory, calls } = standInDirectory([], new Set(hung));
    const { stores } = standInStores(new Map(), new Set());
    const errors: unknown[] = [];
    for (const id of hung) {
      await queue.send(NOTIFICATION_QUEUE, notificationMessageFor(makeJob(id, { status: 'succeeded' })));
    }
    const dispatcher = startNotificationDispatcher({
      queue,
      directory,
      stores,
      concurrency: 2,
      visibilitySec: 1,
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => dispatcher.stop());
    await untilTwoHungReads(calls, hung);
    const message = notificationMessageFor(makeJob(gone, { status: 'succeeded' }));
    await queue.send(NOTIFICATION_QUEUE, message);
    await until('the message after the hangs', () => queue.deleted.includes(message.body));
    expect(errors.some((e) => e instanceof DeliveryDeadlineError)).toBe(true);
  }, 20_000);
});
