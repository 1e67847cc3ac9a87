import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqsMessageQueue } from '../../src/adapters/aws/message-queue.ts';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import { startQueueConsumer } from '../../src/runtime/queue-consumer.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { slotRuntime, until } from '../support/slot-runtime.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
let aws: Promise<AwsEmulators> | undefined;
/** The SQS emulator, started by the first test that needs it. */
const emulators = () => (aws ??= startAwsEmulators());
afterAll(async () => (await aws)?.stop());

function openQueue() {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-pool-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'q.sqlite'));
  return { db, queue: createSqliteMessageQueue(db, { pollIntervalMs: 20 }) };
}

describe('consumers sharing one function pool', () => {
  it('only receive what can start: with one receive allowed, nothing is dead-lettered', async () => {
    const { queue } = openQueue();
    const queues = [`a_${randomUUID().slice(0, 8)}`, `b_${randomUUID().slice(0, 8)}`];
    for (const name of queues) {
      await queue.createQueue(deadLetterQueueName(name), { visibilityTimeoutSec: 30 });
      // One receive per message: a receive that does not run would dead-letter it at once.
      await queue.createQueue(name, {
        visibilityTimeoutSec: 30,
        maxReceiveCount: 1,
        deadLetterQueue: deadLetterQueueName(name),
      });
    }
    const { runtime, ran, counts, refused } = slotRuntime(3, 5);
    const consumers = queues.map((name) =>
      startQueueConsumer({ queue: name, runtime, messages: queue, visibilityTimeoutSec: 30, batchSize: 1 }),
    );
    const sent: string[] = [];
    for (let i = 0; i < 60; i++) {
      const name = queues[i % 2]!;
      sent.push(`${name}#${i}`);
      await queue.send(name, { body: `${name}#${i}`, groupId: `g${i % 3}` });
    }
    await until('every message ran', () => ran.length >= sent.length);
    await Promise.all(consumers.map((c) => c.stop()));
    expect([...ran].sort()).toEqual([...sent].sort());
    expect(counts.every((c) => c === 1)).toBe(true);
    // Every message received could start: none was handed to a runtime without a free slot.
    expect(refused()).toBe(0);
    for (const name of queues) {
      expect((await queue.depth(deadLetterQueueName(name))).visible).toBe(0);
      expect(await queue.deadLettered(10)).toEqual([]);
    }
  });

  it('hand a slot over without a wait to cut: an idle queue beside a busy one claims with waitTimeSec 0', async () => {
    const { queue } = openQueue();
    const idle = `idle_${randomUUID().slice(0, 8)}`;
    const busy = `busy_${randomUUID().slice(0, 8)}`;
    for (const name of [idle, busy]) await queue.createQueue(name, { visibilityTimeoutSec: 30 });
    // The real queue, its receives recorded: once per job of the busy queue the idle one claims once, and
    // made and aborted an AbortController (with its DOMException) each time to do it.
    const idleReceives: { waitTimeSec?: number; signal?: AbortSignal }[] = [];
    const recorded: typeof queue = Object.create(queue);
    recorded.receive = (name, options) => {
      if (name === idle) idleReceives.push({ ...options });
      return queue.receive(name, options);
    };
    const { runtime, ran } = slotRuntime(1, 1);
    const consume = (name: string) =>
      startQueueConsumer({
        queue: name,
        runtime,
        messages: recorded,
        visibilityTimeoutSec: 30,
        batchSize: 1,
      });
    const consumers = [consume(idle)];
    await new Promise((r) => setTimeout(r, 100));
    await queue.sendBatch(
      busy,
      Array.from({ length: 30 }, (_, i) => ({ body: String(i) })),
    );
    consumers.push(consume(busy));
    await until('the backlog ran', () => ran.length === 30);
    await Promise.all(consumers.map((c) => c.stop()));
    const handedOver = idleReceives.filter((r) => r.waitTimeSec === 0);
    expect(handedOver.length).toBeGreaterThan(5);
    expect(handedOver.every((r) => r.signal === undefined)).toBe(true);
    // A receive that waits can be cut short (stopping, a hand-over): it carries a signal not yet aborted.
    const waiting = idleReceives.filter((r) => r.waitTimeSec !== 0);
    expect(waiting.every((r) => r.signal !== undefined)).toBe(true);
  });

  it('gives a delivery that never started back without counting it', async () => {
    const { queue } = openQueue();
    const name = `c_${randomUUID().slice(0, 8)}`;
    await queue.createQueue(deadLetterQueueName(name), { visibilityTimeoutSec: 30 });
    await queue.createQueue(name, {
      visibilityTimeoutSec: 30,
      maxReceiveCount: 2,
      deadLetterQueue: deadLetterQueueName(name),
    });
    // The runtime refuses five starts in a row: counted, the message would be dead-lettered after two.
    const { runtime, ran, counts } = slotRuntime(1, 1, { refuseFirst: 5 });
    const consumer = startQueueConsumer({
      queue: name,
      runtime,
      messages: queue,
      visibilityTimeoutSec: 30,
      batchSize: 1,
    });
    await queue.send(name, { body: 'only' });
    await until('the message ran', () => ran.length === 1);
    await consumer.stop();
    expect(ran).toEqual(['only']);
    expect(counts).toEqual([1]);
    expect((await queue.depth(deadLetterQueueName(name))).visible).toBe(0);
  });
});

// The hand-over on each queue adapter: SQS cannot cut a long poll short, so there it rests on the idle
// consumers claiming without waiting (`waitTimeSec: 0`) while one with a backlog waits.
describe.each([
  ['the embedded queue', async () => openQueue().queue],
  ['SQS (fauxqs)', async () => createSqsMessageQueue({ client: (await emulators()).sqs })],
])('slots held by idle long polls, on %s', (_name, open) => {
  it('go to a consumer with a backlog, also one started after the idle ones (a new dedicated queue)', async () => {
    const queue = await open();
    const idle = ['a', 'b', 'c'].map((p) => `idle_${p}_${randomUUID().slice(0, 8)}`);
    const busy = `busy_${randomUUID().slice(0, 8)}`;
    for (const name of [...idle, busy]) await queue.createQueue(name, { visibilityTimeoutSec: 30 });
    const { runtime, ran } = slotRuntime(1, 1);
    const consume = (name: string) =>
      startQueueConsumer({ queue: name, runtime, messages: queue, visibilityTimeoutSec: 30, batchSize: 1 });
    const consumers = idle.map(consume);
    await new Promise((r) => setTimeout(r, 300));
    await queue.sendBatch(
      busy,
      Array.from({ length: 40 }, (_, i) => ({ body: String(i) })),
    );
    consumers.push(consume(busy));
    // Without the hand-over each of the 40 waits out the idle consumers' 1 s long polls in turn: 120 s.
    await until('the backlog ran', () => ran.length === 40, 20_000);
    await Promise.all(consumers.map((c) => c.stop()));
  }, 30_000);
});
