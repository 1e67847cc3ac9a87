import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqsMessageQueue } from '../../src/adapters/aws/message-queue.ts';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import type { MessageQueue, ReceivedMessage, ReceiveOptions } from '../../src/ports/message-queue.ts';
import {
  type ConsumerOptions,
  type QueueConsumer,
  startQueueConsumer,
} from '../../src/runtime/queue-consumer.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { slotRuntime, until } from '../support/slot-runtime.ts';

let aws: Promise<AwsEmulators> | undefined;
/** The SQS emulator, started by the first test that needs it. */
const emulators = () => (aws ??= startAwsEmulators());
afterAll(async () => (await aws)?.stop());

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A consumer of `queue` as most tests here run it: 30 s visibility, one message a batch (unless `options` say). */
function consumerOf(
  queue: string,
  options: Pick<ConsumerOptions, 'runtime' | 'messages'> & Omit<Partial<ConsumerOptions>, 'queue'>,
) {
  return startQueueConsumer({ visibilityTimeoutSec: 30, batchSize: 1, ...options, queue });
}

/** The real embedded queue, its receives recorded (with the time each began). */
async function openQueue(names: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-consumer-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'q.sqlite'));
  const queue = createSqliteMessageQueue(db, { pollIntervalMs: 20 });
  for (const name of names) await queue.createQueue(name, { visibilityTimeoutSec: 30 });
  const receives: { queue: string; options: ReceiveOptions; aborted: boolean }[] = [];
  const recorded: typeof queue = Object.create(queue);
  recorded.receive = (name, options) => {
    receives.push({ queue: name, options: { ...options }, aborted: options.signal?.aborted === true });
    return queue.receive(name, options);
  };
  return { db, queue, recorded, receives };
}

/**
 * One consumer of `busy` works through `busyMessages` while consumers of `idle` are started and stopped
 * `restarts` times (round i sends `idle-i` when `sendsOn(i)`, then waits `pauseMs(i)` before the stop);
 * a last idle consumer then runs until every message has run, and `settleMs` more (a second delivery would
 * show), and all stop. What ran (bodies and receive counts) and what was sent to `idle`.
 */
async function stopAndStartBesideBusy(o: {
  queue: Pick<MessageQueue, 'send' | 'sendBatch'>;
  messages: MessageQueue;
  idle: string;
  busy: string;
  busyMessages: number;
  restarts: number;
  sendsOn(i: number): boolean;
  pauseMs(i: number): number;
  settleMs: number;
}) {
  const { runtime, ran, counts } = slotRuntime(1, 1);
  const consume = (name: string) => consumerOf(name, { runtime, messages: o.messages });
  await o.queue.sendBatch(
    o.busy,
    Array.from({ length: o.busyMessages }, (_, i) => ({ body: `busy-${i}` })),
  );
  const busyConsumer = consume(o.busy);
  const sent: string[] = [];
  for (let i = 0; i < o.restarts; i++) {
    const c = consume(o.idle);
    if (o.sendsOn(i)) {
      sent.push(`idle-${i}`);
      await o.queue.send(o.idle, { body: `idle-${i}` });
    }
    await new Promise((r) => setTimeout(r, o.pauseMs(i)));
    await c.stop();
  }
  const last = consume(o.idle);
  await until('every message ran', () => ran.length === o.busyMessages + sent.length, 20_000);
  await new Promise((r) => setTimeout(r, o.settleMs));
  await Promise.all([last.stop(), busyConsumer.stop()]);
  return { ran, counts, sent };
}

/** A hook that throws `message` the first time it is called with a message `when` picks (any, by default). */
function throwsOnce(message: string, when: (m: ReceivedMessage) => boolean = () => true) {
  let throws = 1;
  return (m: ReceivedMessage) => {
    if (when(m) && throws-- > 0) throw new Error(message);
    return undefined;
  };
}

/**
 * A consumer with `options` (and `slots` function slots) on a fresh embedded queue, given `bodies` in turn: each
 * is sent once the one before has run. Returned once all ran, still consuming.
 */
async function consumeInTurn(
  bodies: string[],
  options: Omit<Partial<ConsumerOptions>, 'queue' | 'runtime' | 'messages'>,
  slots = 1,
) {
  const name = `q_${randomUUID().slice(0, 8)}`;
  const { queue } = await openQueue([name]);
  const { runtime, ran, free } = slotRuntime(slots, 1);
  const consumer = consumerOf(name, { runtime, messages: queue, ...options });
  for (const body of bodies) {
    await queue.send(name, { body });
    await until(`${body} ran`, () => ran.includes(body));
  }
  return { name, queue, ran, free, consumer };
}

describe('queue consumer', () => {
  it('stopped in the turn its slots are granted, receives nothing (no long poll left uncut)', async () => {
    const name = `q_${randomUUID().slice(0, 8)}`;
    const { queue, recorded, receives } = await openQueue([name]);
    await queue.send(name, { body: 'waiting' });
    let consumer: QueueConsumer | undefined;
    let stopping: Promise<void> | undefined;
    let stopCalledAt: number | undefined;
    // stop() lands after the slot is granted and before the consumer's receive: the stopping signal has
    // fired already, so a listener added to it then never cuts the receive's wait.
    const { runtime, ran } = slotRuntime(1, 1, {
      afterGrant: () => {
        if (stopping || !consumer) return;
        stopCalledAt = receives.length;
        stopping = consumer.stop();
      },
    });
    consumer = consumerOf(name, { runtime, messages: recorded });
    await until('stop() was called', () => stopping !== undefined);
    await stopping;
    // On the old code: a receive after stop(), with a signal nobody would abort any more (it waited out its
    // whole second on an empty queue; here it claimed the message and gave it back).
    expect(receives.slice(stopCalledAt)).toEqual([]);
    expect(ran).toEqual([]);
    expect((await queue.receive(name, { maxMessages: 10 })).map((m) => [m.body, m.receiveCount])).toEqual([
      ['waiting', 1],
    ]);
  });

  it('a message received as it stops goes back uncounted, and runs once on the next consumer', async () => {
    const name = `q_${randomUUID().slice(0, 8)}`;
    const { queue, recorded } = await openQueue([name]);
    const { runtime, ran, counts } = slotRuntime(1, 1);
    const first = consumerOf(name, { runtime, messages: recorded });
    await new Promise((r) => setTimeout(r, 50));
    // Sent and stopped in one turn: the long poll in flight is woken by the send and cut by the stop.
    await queue.send(name, { body: 'one' });
    await first.stop();
    const second = consumerOf(name, { runtime, messages: recorded });
    await until('the message ran', () => ran.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    await second.stop();
    expect(ran).toEqual(['one']);
    expect(counts).toEqual([1]);
    expect(await queue.receive(name, { maxMessages: 10 })).toEqual([]);
  });

  it('a batch whose event cannot be built gives its slots and messages back, and the loop goes on', async () => {
    const errors: unknown[] = [];
    const { ran, free, consumer } = await consumeInTurn(
      ['bad', 'good'],
      {
        // Throws synchronously once: the event of that message cannot be built.
        timeLimitMs: throwsOnce('no limit for this one', (m) => m.body === 'bad'),
        onError: (e) => errors.push(e),
      },
      2,
    );
    await consumer.stop();
    expect(ran.sort()).toEqual(['bad', 'good']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['no limit for this one']);
    // Every slot is free again: none stayed reserved by the lease of the failed batch.
    expect(free()).toBe(2);
  });

  it('gives such a batch back, and goes on, also when onError itself throws', async () => {
    const { ran, free, consumer } = await consumeInTurn(
      ['bad', 'good'],
      {
        timeLimitMs: throwsOnce('no limit for this one', (m) => m.body === 'bad'),
        onError: () => {
          throw new Error('the error reporter failed too');
        },
      },
      2,
    );
    await consumer.stop();
    expect(ran.sort()).toEqual(['bad', 'good']);
    expect(free()).toBe(2);
  });

  it('leaves no stopping listener behind over many hand-overs and long polls', async () => {
    const idle = `idle_${randomUUID().slice(0, 8)}`;
    const busy = `busy_${randomUUID().slice(0, 8)}`;
    const { queue, recorded, receives } = await openQueue([idle, busy]);
    const signals = new Set<AbortSignal>();
    let most = 0;
    const { runtime, ran } = slotRuntime(1, 1, {
      afterGrant: (signal) => {
        if (signal) signals.add(signal);
        for (const s of signals) most = Math.max(most, getEventListeners(s, 'abort').length);
      },
    });
    const consume = (name: string) => consumerOf(name, { runtime, messages: recorded });
    const consumers = [consume(idle)];
    await new Promise((r) => setTimeout(r, 100));
    await queue.sendBatch(
      busy,
      Array.from({ length: 40 }, (_, i) => ({ body: String(i) })),
    );
    consumers.push(consume(busy));
    await until('the backlog ran', () => ran.length === 40);
    await Promise.all(consumers.map((c) => c.stop()));
    const idleTurns = receives.filter((r) => r.queue === idle).length;
    expect(idleTurns).toBeGreaterThan(10);
    // At most one listener per consumer at any time (its wait's, or its acquire's), none left after.
    expect(most).toBeLessThanOrEqual(1);
    for (const s of signals) expect(getEventListeners(s, 'abort')).toEqual([]);
  });
  it('stopped during a long poll, cuts its wait: the receive in flight carries the aborted signal', async () => {
    const name = `q_${randomUUID().slice(0, 8)}`;
    const { recorded, receives } = await openQueue([name]);
    const { runtime } = slotRuntime(1, 1);
    const consumer = consumerOf(name, { runtime, messages: recorded });
    await until('a long poll is in flight', () => receives.length > 0);
    const polling = receives.at(-1)!;
    expect(polling.options.waitTimeSec).toBe(1);
    expect(polling.options.signal?.aborted).toBe(false);
    await consumer.stop();
    expect(polling.options.signal?.aborted).toBe(true);
    expect(receives).toHaveLength(1);
  });

  it('stopped and started again and again beside a busy queue, runs every message once', async () => {
    const idle = `idle_${randomUUID().slice(0, 8)}`;
    const busy = `busy_${randomUUID().slice(0, 8)}`;
    const { queue, recorded, receives } = await openQueue([idle, busy]);
    // The idle queue's consumer is stopped at arbitrary points: during its long polls, its hand-over claims
    // (waitTimeSec 0, no signal) and its runs, while its messages trickle in.
    const { ran, counts, sent } = await stopAndStartBesideBusy({
      queue,
      messages: recorded,
      idle,
      busy,
      busyMessages: 60,
      restarts: 30,
      sendsOn: (i) => i % 2 === 0,
      pauseMs: (i) => (i * 7) % 23,
      settleMs: 100,
    });
    expect(ran.filter((b) => b.startsWith('idle-')).sort()).toEqual([...sent].sort());
    expect(ran.filter((b) => b.startsWith('busy-'))).toHaveLength(60);
    // Given back uncounted whenever a stop caught a claim: every run is its message's first delivery.
    expect(counts.every((c) => c === 1)).toBe(true);
    expect(receives.some((r) => r.queue === idle && r.options.waitTimeSec === 0)).toBe(true);
  });
  it('without onError, a delete that fails is not an unhandled rejection, and stop() still resolves', async () => {
    const name = `q_${randomUUID().slice(0, 8)}`;
    const { db, queue } = await openQueue([name]);
    let running: () => void = () => undefined;
    const started = new Promise<void>((r) => (running = r));
    // The queue's database goes away while the job runs: its message's delete then fails.
    const { runtime, ran } = slotRuntime(1, 1, {
      beforeReturn: async () => {
        running();
        db.close();
      },
    });
    const consumer = consumerOf(name, { runtime, messages: queue });
    await queue.send(name, { body: 'one' });
    await started;
    await until('the job ran', () => ran.length === 1);
    // On the old code the delete's error rejected the dispatch, with nobody awaiting it: an unhandled rejection.
    await expect(consumer.stop()).resolves.toBeUndefined();
  });

  it('an onFinish hook that throws is reported, not an unhandled rejection, and the next message runs', async () => {
    const errors: unknown[] = [];
    const { consumer, ran } = await consumeInTurn(['one', 'two'], {
      onFinish: throwsOnce('hook failed'),
      onError: (error) => errors.push(error),
    });
    await expect(consumer.stop()).resolves.toBeUndefined();
    expect(ran).toEqual(['one', 'two']);
    expect(errors.map((e) => (e as Error).message)).toContain('hook failed');
  });

  it('a function busy for a batch: every message given back is finished, though an onFinish hook throws', async () => {
    const name = `q_${randomUUID().slice(0, 8)}`;
    const { queue } = await openQueue([name]);
    // The first invocation finds the function busy (nothing started): both messages go back.
    const { runtime } = slotRuntime(1, 1, { refuseFirst: 1 });
    const started: string[] = [];
    const finished: string[] = [];
    const errors: unknown[] = [];
    let throws = 1;
    await queue.sendBatch(name, [{ body: 'a' }, { body: 'b' }]);
    const consumer = consumerOf(name, {
      runtime,
      messages: queue,
      batchSize: 2,
      onStart: (m) => started.push(m.body),
      onFinish: (m) => {
        finished.push(m.body);
        if (throws-- > 0) throw new Error('finish hook failed');
      },
      onError: (error) => errors.push(error),
    });
    await until(
      'both ran',
      async () => (await queue.depth(name)).visible + (await queue.depth(name)).inFlight === 0,
    );
    await consumer.stop();
    // Each onStart has its onFinish (the host counts running jobs per tenant by them): on the old consumer the
    // busy path's loop ended at the first hook that threw, and b stayed counted as running for good.
    expect(finished.sort()).toEqual(started.sort());
    expect(errors.map((e) => (e as Error).message)).toContain('finish hook failed');
  });

  it('an onStart hook that throws is reported, and the message that started is still settled (deleted once)', async () => {
    const errors: unknown[] = [];
    const { consumer, queue, name } = await consumeInTurn(['one', 'two'], {
      onStart: throwsOnce('start hook failed'),
      onError: (error) => errors.push(error),
    });
    await consumer.stop();
    expect(errors.map((e) => (e as Error).message)).toContain('start hook failed');
    // The function ran: its message is deleted, not left in flight to run again when its visibility ends.
    // On the old consumer the throwing hook ended the dispatch before it awaited the function: 'one' stayed
    // in flight (and a rejection of that invocation would have been unobserved).
    expect(await queue.depth(name)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});

// SQS cannot cut a long poll short nor give a message back uncounted: a stop waits out the poll in flight
// (1 s) and what it caught goes back with its receive counted. Still nothing is lost or run twice.
describe('queue consumer on SQS (fauxqs)', () => {
  it('stopped and started again beside a busy queue, runs every message once', async () => {
    const queue = createSqsMessageQueue({ client: (await emulators()).sqs });
    const handOvers: string[] = [];
    const recorded: typeof queue = Object.create(queue);
    recorded.receive = (name, options) => {
      if (options.waitTimeSec === 0) handOvers.push(name);
      return queue.receive(name, options);
    };
    const idle = `idle_${randomUUID().slice(0, 8)}`;
    const busy = `busy_${randomUUID().slice(0, 8)}`;
    for (const name of [idle, busy]) await queue.createQueue(name, { visibilityTimeoutSec: 30 });
    const { ran, sent } = await stopAndStartBesideBusy({
      queue,
      messages: recorded,
      idle,
      busy,
      busyMessages: 20,
      restarts: 8,
      sendsOn: () => true,
      pauseMs: (i) => (i * 37) % 120,
      settleMs: 200,
    });
    expect(ran.filter((b) => b.startsWith('idle-')).sort()).toEqual([...sent].sort());
    expect(ran.filter((b) => b.startsWith('busy-')).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `busy-${i}`).sort(),
    );
    // The idle consumer claimed without waiting (SQS short polls) while the busy one had a backlog.
    expect(handOvers).toContain(idle);
  }, 60_000);
});
