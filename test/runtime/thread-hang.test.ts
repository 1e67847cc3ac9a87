import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import type { HeldMessage } from '../../src/runtime/function-runtime.ts';
import {
  createFunctionThreads,
  type FunctionThreads,
  type FunctionThreadsOptions,
} from '../../src/runtime/worker-pool.ts';
import { setThreadStandIn, standInThreadSettings, standInThreads, tempDir, threadEnded } from './stand-in.ts';

// Shared function threads that hang after they are ready, as stand-in threads (stand-in.ts). Two ways one held
// its slot, and what it claimed, for good: hung on a message whose time limit could not be looked up (a
// dedicated lane on the pool, a tenant the directory lacks: no limit at all, its visibility extended for
// ever), and hung before it reported its claim (nothing the host timed).
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltStartingStandInThreads(original),
);

const dir = tempDir('silopool-thread-hang-');
const pools: FunctionThreads[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close(Date.now());
});

const READY = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (r) => {
  if (r.type === 'stop') parentPort.postMessage([{ type: 'stopped' }]);
  if (r.type === 'ping') parentPort.postMessage([{ type: 'alive' }]);
});
parentPort.postMessage([{ type: 'ready' }]);`;

/** Ready, then reports it started `messages` and waits for good (an await that never settles). */
const startsAndHangs = (...messages: HeldMessage[]) => `const { parentPort } = require('node:worker_threads');
parentPort.postMessage([{ type: 'ready' }]);
setTimeout(() => parentPort.postMessage(${JSON.stringify(messages)}.map((message) => ({ type: 'started', message }))), 20);
setInterval(() => undefined, 1000);`;

/** Ready, answers pings, then loops in synchronous code before it reports anything (a claim it never reported). */
const HANGS_BEFORE_STARTED = `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (r) => { if (r.type === 'ping') parentPort.postMessage([{ type: 'alive' }]); });
parentPort.postMessage([{ type: 'ready' }]);
setTimeout(() => { for (;;) {} }, 200);`;

/** Ready, reports it started `message`, then runs a synchronous job for `ms` (no ping answered meanwhile). */
const longJob = (message: HeldMessage, ms: number) => `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (r) => {
  if (r.type === 'stop') parentPort.postMessage([{ type: 'stopped' }]);
  if (r.type === 'ping') parentPort.postMessage([{ type: 'alive' }]);
});
parentPort.postMessage([{ type: 'ready' }]);
setTimeout(() => {
  parentPort.postMessage([{ type: 'started', message: ${JSON.stringify(message)} }]);
  const end = Date.now() + ${ms};
  while (Date.now() < end);
  parentPort.postMessage([{ type: 'finished', queue: ${JSON.stringify(message.queue)}, receiptHandle: ${JSON.stringify(message.receiptHandle)} }]);
}, 20);`;

type Queue = ReturnType<typeof createSqliteMessageQueue>;
let opened = 0;
const openQueue = (): Queue => createSqliteMessageQueue(openDatabase(join(dir, `${++opened}.sqlite`)));

/** A pool of one thread (the stand-in set now) on `messages`. */
function pool(options: Partial<FunctionThreadsOptions>, messages: Queue = openQueue()) {
  const errors: string[] = [];
  const threads = createFunctionThreads({
    size: 1,
    messages,
    onError: (error) => errors.push(String((error as Error)?.message ?? error)),
    settings: standInThreadSettings(),
    ...options,
  });
  pools.push(threads);
  return { threads, messages, errors };
}

/** A message really received from `queue` on `messages`, as a thread reports it. */
async function claimed(messages: Queue, queue: string, body = '{"not":"a job"}') {
  await messages.createQueue(queue, { visibilityTimeoutSec: 30 });
  await messages.send(queue, { body });
  const [m] = await messages.receive(queue, { maxMessages: 1, visibilityTimeoutSec: 30 });
  return {
    queue,
    receiptHandle: m!.receiptHandle,
    body: m!.body,
    receiveCount: m!.receiveCount,
  } satisfies HeldMessage;
}

describe('a function thread hung on a message its time limit lookup gives none for', () => {
  it('is ended at the pool maximum and the message goes back (before: held for good)', async () => {
    const before = standInThreads.length;
    const settled: string[] = [];
    const messages = openQueue();
    const message = await claimed(messages, 'tenant_nobody-1_finance');
    setThreadStandIn(startsAndHangs(message));
    const { threads } = pool(
      {
        // What the host's lookup gives a message of no known tenant: no limit.
        timeLimitMs: () => undefined,
        maxTimeLimitMs: 300,
        settleTimedOut: (m) => {
          settled.push(m.queue);
          return undefined;
        },
      },
      messages,
    );
    await vi.waitFor(() => expect(threads.held()).toHaveLength(1), { timeout: 5000 });
    setThreadStandIn(READY);
    await vi.waitFor(() => expect(threadEnded(standInThreads[before]!)).toBe(true), { timeout: 3000 });
    await vi.waitFor(() => expect(threads.held()).toHaveLength(0), { timeout: 3000 });
    expect(settled).toEqual(['tenant_nobody-1_finance']);
    // Not settled (undefined): retried after a backoff like a crash, so it is visible again.
    await vi.waitFor(
      async () =>
        expect(
          await messages.receive(message.queue, { maxMessages: 1, visibilityTimeoutSec: 30 }),
        ).toHaveLength(1),
      { timeout: 5000 },
    );
    // And a new thread took the slot.
    await vi.waitFor(() => expect(standInThreads.length - before).toBe(2), { timeout: 3000 });
  }, 20_000);

  it('a limit lookup that fails gets the pool maximum as well', async () => {
    const before = standInThreads.length;
    const messages = openQueue();
    const message = await claimed(messages, 'silopool_finance');
    setThreadStandIn(startsAndHangs(message));
    const { threads, errors } = pool(
      { timeLimitMs: () => Promise.reject(new Error('directory down')), maxTimeLimitMs: 300 },
      messages,
    );
    await vi.waitFor(() => expect(threads.held()).toHaveLength(1), { timeout: 5000 });
    setThreadStandIn(READY);
    await vi.waitFor(() => expect(threadEnded(standInThreads[before]!)).toBe(true), { timeout: 3000 });
    expect(errors).toContain('directory down');
  }, 20_000);
});

describe('a function thread hung on a message whose time limit lookup never answers', () => {
  it('is ended at the pool maximum (before: no limit while the lookup waited, for good)', async () => {
    const before = standInThreads.length;
    const messages = openQueue();
    const message = await claimed(messages, 'silopool_finance');
    setThreadStandIn(startsAndHangs(message));
    const { threads } = pool(
      { timeLimitMs: () => new Promise<never>(() => undefined), maxTimeLimitMs: 300 },
      messages,
    );
    await vi.waitFor(() => expect(threads.held()).toHaveLength(1), { timeout: 5000 });
    setThreadStandIn(READY);
    await vi.waitFor(() => expect(threadEnded(standInThreads[before]!)).toBe(true), { timeout: 3000 });
  }, 20_000);
});

describe('a function thread hung outside any job the host knows of', () => {
  it('is ended when it leaves a ping unanswered, and replaced (before: kept its slot for good)', async () => {
    const before = standInThreads.length;
    setThreadStandIn(HANGS_BEFORE_STARTED);
    const { errors } = pool({ livenessTimeoutMs: 300 });
    await vi.waitFor(() => expect(standInThreads.length - before).toBe(1), { timeout: 5000 });
    setThreadStandIn(READY);
    await vi.waitFor(() => expect(threadEnded(standInThreads[before]!)).toBe(true), { timeout: 5000 });
    expect(errors).toEqual([
      'A function thread did not answer for 0.3 s while it ran no job; ended and replaced (a message it claimed goes back to its queue after the visibility timeout).',
    ]);
    // Replaced at once (it had started fine), and the replacement, which answers, stays.
    await vi.waitFor(() => expect(standInThreads.length - before).toBe(2), { timeout: 3000 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(threadEnded(standInThreads[before + 1]!)).toBe(false);
    expect(errors).toHaveLength(1);
  }, 20_000);

  it('a thread in a long synchronous job is left to its time limit, not ended as hung', async () => {
    const before = standInThreads.length;
    const messages = openQueue();
    const message = await claimed(messages, 'silopool_finance');
    setThreadStandIn(longJob(message, 1500));
    const { threads, errors } = pool({ livenessTimeoutMs: 200, timeLimitMs: () => 10_000 }, messages);
    await vi.waitFor(() => expect(threads.held()).toHaveLength(1), { timeout: 5000 });
    // The job ends by itself after 1.5 s, seven liveness timeouts without an answer; then it answers again.
    await vi.waitFor(() => expect(threads.held()).toHaveLength(0), { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(threadEnded(standInThreads[before]!)).toBe(false);
    expect(standInThreads.length - before).toBe(1);
    expect(errors).toEqual([]);
  }, 20_000);
});

describe('a job past its time limit that never started', () => {
  /** The next receive of `queue`'s message (waiting out its retry delay): its receive count. */
  async function nextReceiveCount(messages: Queue, queue: string, body: string): Promise<number> {
    let count: number | undefined;
    await vi.waitFor(
      async () => {
        const got = await messages.receive(queue, { maxMessages: 10, visibilityTimeoutSec: 30 });
        count ??= got.find((m) => m.body === body)?.receiveCount;
        expect(count).toBeDefined();
      },
      { timeout: 5000, interval: 100 },
    );
    return count!;
  }

  it('alone on its thread (its own run hung before it started): retried as a counted receive', async () => {
    // Given back uncounted, it ran and hung again for ever (a thread lost per time limit), never dead-lettered.
    const messages = openQueue();
    const message = await claimed(messages, 'silopool_finance', 'alone');
    setThreadStandIn(startsAndHangs(message));
    pool({ timeLimitMs: () => 300, settleTimedOut: async () => false }, messages);
    expect(await nextReceiveCount(messages, message.queue, 'alone')).toBe(2);
  }, 20_000);

  it('behind an earlier record of its event (a batch): given back uncounted, as before', async () => {
    const messages = openQueue();
    const running = await claimed(messages, 'silopool_finance', 'running');
    const waiting = { ...(await claimed(messages, 'silopool_finance', 'waiting')), batchIndex: 1 };
    setThreadStandIn(startsAndHangs(running, waiting));
    pool(
      {
        timeLimitMs: (m) => (m.receiptHandle === waiting.receiptHandle ? 300 : 10_000),
        settleTimedOut: async () => false,
      },
      messages,
    );
    expect(await nextReceiveCount(messages, waiting.queue, 'waiting')).toBe(1);
  }, 20_000);

  it('beside another event of its thread (EVENTS_PER_THREAD > 1): its own run hung, so it is counted', async () => {
    // Given back uncounted (as if it waited in a batch), it hung again for ever while its thread had company.
    const messages = openQueue();
    const other = await claimed(messages, 'silopool_finance', 'other');
    const hung = await claimed(messages, 'silopool_finance', 'hung');
    setThreadStandIn(startsAndHangs(other, hung));
    pool(
      {
        timeLimitMs: (m) => (m.receiptHandle === hung.receiptHandle ? 300 : 10_000),
        settleTimedOut: async () => false,
      },
      messages,
    );
    expect(await nextReceiveCount(messages, hung.queue, 'hung')).toBe(2);
  }, 20_000);
});

describe('a held message whose settling never answers', () => {
  const never = () => new Promise<never>(() => undefined);

  it('close() returns when giving back a cut-short job hangs (before: waited for good)', async () => {
    const real = openQueue();
    const message = await claimed(real, 'silopool_finance', 'cut-short');
    // The queue call that gives the message back never settles (a store or service that stopped answering).
    const hung: Queue = { ...real, releaseForRetry: never, changeVisibility: never };
    setThreadStandIn(startsAndHangs(message));
    const { threads, errors } = pool({ timeLimitMs: () => 60_000, recoveryTimeoutMs: 300 }, hung);
    await vi.waitFor(() => expect(threads.held()).toHaveLength(1), { timeout: 5000 });
    setThreadStandIn(READY);
    await threads.close(Date.now());
    expect(threads.held()).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/after its thread ended did not finish within \d+ ms/)]);
  }, 20_000);

  it('a settle of a job past its time limit that hangs is abandoned at the deadline, its message finished', async () => {
    // The message's run is counted (the tenant's running limit) until `onFinish`: a hung settle kept it for good.
    const messages = openQueue();
    const message = await claimed(messages, 'silopool_finance', 'past-limit');
    setThreadStandIn(startsAndHangs(message));
    const finished: string[] = [];
    const { errors } = pool(
      {
        timeLimitMs: () => 200,
        settleTimedOut: never,
        recoveryTimeoutMs: 300,
        onFinish: (m) => finished.push(m.body),
      },
      messages,
    );
    setThreadStandIn(READY);
    await vi.waitFor(() => expect(finished).toEqual(['past-limit']), { timeout: 5000 });
    expect(errors).toEqual([expect.stringMatching(/after its thread ended did not finish within \d+ ms/)]);
    // Abandoned, not lost: the message comes back to its queue when its visibility timeout ends.
  }, 20_000);
});
