import { afterEach, describe, expect, it, vi } from 'vitest';
import { newJobId, type TenantId } from '../../src/core/ids.ts';
import { encodeJobMessage } from '../../src/core/messages.ts';
import { dedicatedQueueName, sharedQueueName } from '../../src/core/placement.ts';
import { emptyConfig } from '../../src/core/tenant.ts';
import { STRICT_WEBHOOK_POLICY } from '../../src/core/webhook-target.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { type FunctionHost, startFunctionHost } from '../../src/runtime/function-host.ts';
import type { HeldMessage } from '../../src/runtime/function-runtime.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';
import { setThreadStandIn, standInThreads, tempDir, threadEnded } from './stand-in.ts';

// Every message the function host's pool runs has a time limit. A dedicated lane the pool consumes (the
// server on the AWS adapters) and a job of a tenant the directory cannot find had none: a thread hung on one
// (an endless loop in model code, an await that never settles) held it for good, its visibility extended by
// the host for as long as the server ran. The threads are stand-ins (stand-in.ts) that report a claim of a
// real message and hang.
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltStartingStandInThreads(original),
);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Ready, then reports it started `message` and waits for good. */
const startsAndHangs = (message: HeldMessage) => `const { parentPort } = require('node:worker_threads');
parentPort.postMessage([{ type: 'ready' }]);
setTimeout(() => parentPort.postMessage([{ type: 'started', message: ${JSON.stringify(message)} }]), 20);
setInterval(() => undefined, 1000);`;
/** Ready, answers the host, holds nothing. */
const READY = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (r) => {
  if (r.type === 'stop') parentPort.postMessage([{ type: 'stopped' }]);
  if (r.type === 'ping') parentPort.postMessage([{ type: 'alive' }]);
});
parentPort.postMessage([{ type: 'ready' }]);`;

async function setUp(): Promise<EmbeddedPlatform> {
  const platform = openEmbeddedPlatform(tempDir('silopool-host-limits-'));
  cleanups.push(() => platform.close());
  return platform;
}

/** A job message of `tenantId` on `queue`, received as a thread would claim it. */
async function claim(platform: EmbeddedPlatform, queue: string, tenantId: TenantId): Promise<HeldMessage> {
  await platform.queue.createQueue(queue, { visibilityTimeoutSec: 30 });
  await platform.queue.send(queue, {
    body: encodeJobMessage({ tenantId, jobId: newJobId(), model: 'finance' }),
  });
  const [m] = await platform.queue.receive(queue, { maxMessages: 1, visibilityTimeoutSec: 30 });
  return { queue, receiptHandle: m!.receiptHandle, body: m!.body, receiveCount: m!.receiveCount };
}

function host(platform: EmbeddedPlatform, settled: string[], maxTimeLimitMs?: number): FunctionHost {
  const started = startFunctionHost({
    queue: platform.queue,
    directory: platform.directory,
    stores: platform.stores,
    models: ['finance'],
    factory: { module: 'stand-in', prebuilt: 'function-thread-embedded', options: {} },
    poolSize: 1,
    visibilityTimeoutSec: 30,
    webhookPolicy: STRICT_WEBHOOK_POLICY,
    settleTimedOut: async (queue) => {
      settled.push(queue);
      return true;
    },
    ...(maxTimeLimitMs !== undefined ? { maxTimeLimitMs } : {}),
  });
  cleanups.push(() => started.stop(Date.now()));
  return started;
}

/**
 * Starts the host (its maximum `maxTimeLimitMs`) with one stand-in thread that claims `message` and hangs, and
 * waits until the host has ended that thread (later threads are idle). Returns the queues the host settled.
 */
async function hangUntilEnded(
  platform: EmbeddedPlatform,
  message: HeldMessage,
  maxTimeLimitMs?: number,
): Promise<string[]> {
  const before = standInThreads.length;
  setThreadStandIn(startsAndHangs(message));
  const settled: string[] = [];
  host(platform, settled, maxTimeLimitMs);
  await vi.waitFor(() => expect(standInThreads.length - before).toBe(1), { timeout: 5000 });
  setThreadStandIn(READY);
  await vi.waitFor(() => expect(threadEnded(standInThreads[before]!)).toBe(true), { timeout: 5000 });
  return settled;
}

describe("the function host's time limits", () => {
  it("a dedicated lane's job on the pool has its function's timeout, and is retried past it (not failed)", async () => {
    const platform = await setUp();
    const tenantId = randomTenantId('ded');
    await platform.directory.create(
      makeTenant(tenantId, {
        placement: 'dedicated',
        config: { ...emptyConfig(), function: { timeoutSec: 1 } },
      }),
    );
    const message = await claim(platform, dedicatedQueueName(tenantId, 'finance'), tenantId);
    // Before: no limit, held for good.
    const settled = await hangUntilEnded(platform, message);
    // A Lambda's timeout is retried: the job is not settled as `timeout`, the message comes back.
    await vi.waitFor(
      async () =>
        expect(
          await platform.queue.receive(message.queue, { maxMessages: 1, visibilityTimeoutSec: 30 }),
        ).toHaveLength(1),
      { timeout: 5000 },
    );
    expect(settled).toEqual([]);
  }, 20_000);

  it('a job of a tenant the directory cannot find has the platform maximum', async () => {
    const platform = await setUp();
    const message = await claim(platform, sharedQueueName('finance'), randomTenantId('gone'));
    const settled = await hangUntilEnded(platform, message, 300);
    await vi.waitFor(() => expect(settled).toEqual([message.queue]), { timeout: 3000 });
  }, 20_000);

  it("a shared job of a known tenant keeps its plan's limit and is settled as `timeout`", async () => {
    const platform = await setUp();
    const tenantId = randomTenantId('sh');
    await platform.directory.create(
      makeTenant(tenantId, { config: { ...emptyConfig(), limits: { jobTimeoutSec: 1 } } }),
    );
    const message = await claim(platform, sharedQueueName('finance'), tenantId);
    const settled = await hangUntilEnded(platform, message);
    await vi.waitFor(() => expect(settled).toEqual([message.queue]), { timeout: 3000 });
  }, 20_000);
});
