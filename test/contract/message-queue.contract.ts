import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deadLetterQueueName,
  type MessageQueue,
  type ReceivedMessage,
} from '../../src/ports/message-queue.ts';
import { eventually, randomName } from './fixtures.ts';

export interface MessageQueueCapabilities {
  /** Dedup ids are honoured (SQS standard queues ignore them; FIFO queues or the embedded queue do). */
  dedup: boolean;
  /** The move to the DLQ happens exactly on the receive that would exceed maxReceiveCount. */
  exactDeadLetterTiming: boolean;
  /** Within a group, messages are received in (priority, send order). */
  orderedGroups: boolean;
  /** `excludeGroups` and weighted fair claims across groups are enforced by the adapter itself. */
  fairness: boolean;
  /** `depthByGroup` reports real counts. */
  depthByGroup: boolean;
  /** `sendBatch` is all or nothing. */
  atomicBatch: boolean;
  /**
   * A delete with an older receipt handle leaves the message (default true). SQS documents that such a request
   * "succeeds, but the message might not be deleted"; moto deletes it, so its suite says false.
   */
  ignoresStaleReceipts?: boolean;
  /** Sets a group's fair-scheduling weight, where the adapter has weights. */
  setGroupWeight?: (queue: string, group: string, weight: number) => Promise<void>;
}

export type MessageQueueSetup = () => Promise<
  { port: MessageQueue; teardown(): Promise<void> } & MessageQueueCapabilities
>;

/** Receives until `count` messages arrived or `timeoutMs` passed; never deletes. */
async function receiveUpTo(
  port: MessageQueue,
  queue: string,
  count: number,
  options: { visibilityTimeoutSec?: number; timeoutMs?: number } = {},
): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 3000);
  while (out.length < count && Date.now() < deadline) {
    const batch = await port.receive(queue, {
      maxMessages: Math.min(10, count - out.length),
      waitTimeSec: 1,
      ...(options.visibilityTimeoutSec !== undefined
        ? { visibilityTimeoutSec: options.visibilityTimeoutSec }
        : {}),
    });
    out.push(...batch);
  }
  return out;
}

export function describeMessageQueueContract(adapterName: string, setup: MessageQueueSetup): void {
  describe(`MessageQueue contract: ${adapterName}`, () => {
    let ctx: Awaited<ReturnType<MessageQueueSetup>>;
    let port: MessageQueue;
    let queue: string;

    beforeEach(async () => {
      ctx = await setup();
      port = ctx.port;
      queue = randomName('q');
      await port.createQueue(queue, { visibilityTimeoutSec: 30 });
    });
    afterEach(async () => {
      await ctx.teardown();
    });

    it('sends, receives and deletes a message with its group and attributes', async () => {
      const { messageId } = await port.send(queue, {
        body: 'hello',
        groupId: 'g1',
        attributes: { kind: 'test' },
      });
      const [got] = await receiveUpTo(port, queue, 1);
      expect(got).toMatchObject({ messageId, body: 'hello', groupId: 'g1', receiveCount: 1 });
      expect(got!.attributes).toMatchObject({ kind: 'test' });
      await port.delete(queue, got!.receiptHandle);
      await eventually(async () =>
        expect(await port.depth(queue)).toEqual({ visible: 0, inFlight: 0, delayed: 0 }),
      );
      expect(await port.receive(queue, { maxMessages: 10 })).toEqual([]);
    });

    it('hides a received message for its visibility timeout, then redelivers it with receiveCount + 1', async () => {
      const { messageId } = await port.send(queue, { body: 'again' });
      const [first] = await receiveUpTo(port, queue, 1, { visibilityTimeoutSec: 1 });
      expect(first?.messageId).toBe(messageId);
      expect(await port.receive(queue, { maxMessages: 10 })).toEqual([]);
      const [second] = await receiveUpTo(port, queue, 1, { timeoutMs: 4000 });
      expect(second).toMatchObject({ messageId, receiveCount: 2 });
      expect(second!.receiptHandle).not.toBe(first!.receiptHandle);
    });

    it('ignores a delete with a stale receipt handle [capability: ignoresStaleReceipts]', async ({
      skip,
    }) => {
      skip(ctx.ignoresStaleReceipts === false, 'backend may delete on a stale handle, as SQS documents');
      await port.send(queue, { body: 'stale' });
      const [first] = await receiveUpTo(port, queue, 1, { visibilityTimeoutSec: 1 });
      const [second] = await receiveUpTo(port, queue, 1, { timeoutMs: 4000 });
      expect(second?.messageId).toBe(first!.messageId);
      await port.delete(queue, first!.receiptHandle);
      // Still there: releasing it with the current handle makes it receivable again.
      await port.changeVisibility(queue, second!.receiptHandle, 0);
      const [third] = await receiveUpTo(port, queue, 1);
      expect(third?.messageId).toBe(first!.messageId);
      await port.delete(queue, third!.receiptHandle);
      await eventually(async () => expect((await port.depth(queue)).inFlight).toBe(0));
    });

    it('ignores a visibility change with a stale receipt handle [capability: ignoresStaleReceipts]', async ({
      skip,
    }) => {
      // What an abandoned heartbeat or give-back that lands late does, once the message was received again.
      skip(ctx.ignoresStaleReceipts === false, 'backend may act on a stale handle, as SQS documents');
      await port.send(queue, { body: 'stale-visibility' });
      const [first] = await receiveUpTo(port, queue, 1, { visibilityTimeoutSec: 1 });
      const [second] = await receiveUpTo(port, queue, 1, { timeoutMs: 4000 });
      expect(second?.messageId).toBe(first!.messageId);
      // A no-op or an error, never a release of the message its new holder runs.
      await port.changeVisibility(queue, first!.receiptHandle, 0).catch(() => undefined);
      expect(await port.receive(queue, { maxMessages: 10 })).toEqual([]);
      await port.delete(queue, second!.receiptHandle);
    });

    it('changeVisibility extends the timeout, and 0 releases the message at once', async () => {
      await port.send(queue, { body: 'extend' });
      const [got] = await receiveUpTo(port, queue, 1, { visibilityTimeoutSec: 1 });
      await port.changeVisibility(queue, got!.receiptHandle, 5);
      expect(await port.receive(queue, { maxMessages: 10, waitTimeSec: 2 })).toEqual([]);
      await port.changeVisibility(queue, got!.receiptHandle, 0);
      const [again] = await receiveUpTo(port, queue, 1);
      expect(again).toMatchObject({ messageId: got!.messageId, receiveCount: 2 });
    });

    it('holds a delayed message back for its delay', async () => {
      const sentAt = Date.now();
      await port.send(queue, { body: 'later', delaySec: 1 });
      expect(await port.receive(queue, { maxMessages: 10 })).toEqual([]);
      const [got] = await receiveUpTo(port, queue, 1, { timeoutMs: 4000 });
      expect(got?.body).toBe('later');
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
    });

    it('accepts a dedup id once within the window [capability: dedup]', async ({ skip }) => {
      skip(!ctx.dedup, 'adapter lacks it: backend ignores dedup ids');
      const a = await port.send(queue, { body: 'once', dedupId: 'd-1' });
      const b = await port.send(queue, { body: 'once', dedupId: 'd-1' });
      await port.send(queue, { body: 'other', dedupId: 'd-2' });
      expect(b.messageId).toBe(a.messageId);
      const got = await receiveUpTo(port, queue, 3, { timeoutMs: 1200 });
      expect(got.map((m) => m.body).sort()).toEqual(['once', 'other']);
    });

    it('moves a message received maxReceiveCount times to the dead-letter queue', async () => {
      const source = randomName('q');
      const dlq = deadLetterQueueName(source);
      await port.createQueue(dlq, { visibilityTimeoutSec: 30 });
      await port.createQueue(source, { visibilityTimeoutSec: 30, maxReceiveCount: 2, deadLetterQueue: dlq });
      const { messageId } = await port.send(source, { body: 'poison' });
      let receives = 0;
      for (let round = 0; round < 6; round++) {
        const [got] = await receiveUpTo(port, source, 1, { timeoutMs: 1500 });
        if (!got) break;
        receives = got.receiveCount;
        await port.changeVisibility(source, got.receiptHandle, 0);
      }
      if (ctx.exactDeadLetterTiming) expect(receives).toBe(2);
      const [dead] = await receiveUpTo(port, dlq, 1, { timeoutMs: 4000 });
      expect(dead).toMatchObject({ messageId, body: 'poison' });
      await port.deleteQueue(source);
      await port.deleteQueue(dlq);
    });

    it('sends a batch and receives every message of it', async () => {
      const sent = await port.sendBatch(
        queue,
        ['a', 'b', 'c', 'd', 'e'].map((body) => ({ body, groupId: 'g' })),
      );
      expect(new Set(sent.map((s) => s.messageId)).size).toBe(5);
      const got = await receiveUpTo(port, queue, 5);
      expect(got.map((m) => m.body).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
      expect(new Set(got.map((m) => m.messageId))).toEqual(new Set(sent.map((s) => s.messageId)));
    });

    it('rejects a whole batch when one entry is invalid [capability: atomicBatch]', async ({ skip }) => {
      skip(!ctx.atomicBatch, 'adapter lacks it: per-entry batches');
      await expect(
        port.sendBatch(queue, [{ body: 'ok' }, { body: 'bad', delaySec: 100_000 }]),
      ).rejects.toThrow();
      expect(await port.depth(queue)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('reports depth as visible, in flight and delayed', async () => {
      await port.sendBatch(queue, [{ body: '1' }, { body: '2' }, { body: '3', delaySec: 60 }]);
      const [got] = await receiveUpTo(port, queue, 1);
      expect(got).toBeDefined();
      await eventually(async () =>
        expect(await port.depth(queue)).toEqual({ visible: 1, inFlight: 1, delayed: 1 }),
      );
    });

    it('purges every message', async () => {
      await port.sendBatch(queue, [{ body: '1' }, { body: '2' }, { body: '3' }]);
      await port.purge(queue);
      await eventually(async () => expect((await port.depth(queue)).visible).toBe(0));
      expect(await port.receive(queue, { maxMessages: 10 })).toEqual([]);
    });

    it('lists queues by prefix and deletes a queue', async () => {
      const prefix = randomName('lq');
      await port.createQueue(`${prefix}-a`, { visibilityTimeoutSec: 5 });
      await port.createQueue(`${prefix}-b`, { visibilityTimeoutSec: 5 });
      await eventually(async () =>
        expect((await port.listQueues(prefix)).sort()).toEqual([`${prefix}-a`, `${prefix}-b`]),
      );
      await port.deleteQueue(`${prefix}-a`);
      await eventually(async () => expect(await port.listQueues(prefix)).toEqual([`${prefix}-b`]));
      await port.deleteQueue(`${prefix}-b`);
    });

    it('wakes a long poll as soon as a message arrives', async () => {
      const started = Date.now();
      const waiting = port.receive(queue, { maxMessages: 1, waitTimeSec: 10 });
      setTimeout(() => void port.send(queue, { body: 'wake' }), 200);
      const got = await waiting;
      expect(got.map((m) => m.body)).toEqual(['wake']);
      expect(Date.now() - started).toBeLessThan(8000);
    });

    it('claims once without waiting when the signal is aborted before the receive', async () => {
      // What a consumer handing its slot to one with a backlog does (src/runtime/slot-reservations.ts).
      const aborted = AbortSignal.abort();
      const started = Date.now();
      expect(await port.receive(queue, { maxMessages: 1, waitTimeSec: 20, signal: aborted })).toEqual([]);
      expect(Date.now() - started).toBeLessThan(10_000);
      await port.send(queue, { body: 'there' });
      await eventually(async () => {
        const got = await port.receive(queue, { maxMessages: 1, waitTimeSec: 20, signal: aborted });
        expect(got.map((m) => m.body)).toEqual(['there']);
      });
    });

    it('receives a group in (priority, send order) [capability: orderedGroups]', async ({ skip }) => {
      skip(!ctx.orderedGroups, 'adapter lacks it: no group order');
      await port.sendBatch(queue, [
        { body: 'p0-a', groupId: 'g' },
        { body: 'p5', groupId: 'g', priority: 5 },
        { body: 'p0-b', groupId: 'g' },
        { body: 'p-1', groupId: 'g', priority: -1 },
      ]);
      const got = await receiveUpTo(port, queue, 4);
      expect(got.map((m) => m.body)).toEqual(['p-1', 'p0-a', 'p0-b', 'p5']);
    });

    it('serves a quiet group beside a flooding one [capability: fairness]', async ({ skip }) => {
      skip(!ctx.fairness, 'adapter lacks it: fairness is the backend’s');
      await port.sendBatch(
        queue,
        Array.from({ length: 10 }, (_, i) => ({ body: `a${i}`, groupId: 'flood' })),
      );
      await port.sendBatch(
        queue,
        Array.from({ length: 10 }, (_, i) => ({ body: `a${i + 10}`, groupId: 'flood' })),
      );
      await port.sendBatch(
        queue,
        Array.from({ length: 3 }, (_, i) => ({ body: `b${i}`, groupId: 'quiet' })),
      );
      const first = await port.receive(queue, { maxMessages: 6 });
      expect(first.filter((m) => m.groupId === 'quiet')).toHaveLength(3);
    });

    it('skips excluded groups and still serves the others [capability: fairness]', async ({ skip }) => {
      skip(!ctx.fairness, 'adapter lacks it: no excludeGroups');
      await port.sendBatch(queue, [
        { body: 'x1', groupId: 'busy' },
        { body: 'y1', groupId: 'free' },
        { body: 'x2', groupId: 'busy' },
      ]);
      const got = await port.receive(queue, { maxMessages: 10, excludeGroups: new Set(['busy']) });
      expect(got.map((m) => m.body)).toEqual(['y1']);
    });

    it('shares claims in proportion to group weights [capability: fairness + setGroupWeight]', async ({
      skip,
    }) => {
      skip(!ctx.fairness || !ctx.setGroupWeight, 'adapter lacks it: no weights');
      await ctx.setGroupWeight!(queue, 'heavy', 3);
      await ctx.setGroupWeight!(queue, 'light', 1);
      for (const group of ['heavy', 'light']) {
        await port.sendBatch(
          queue,
          Array.from({ length: 40 }, (_, i) => ({ body: `${group}${i}`, groupId: group })),
        );
      }
      const got = await receiveUpTo(port, queue, 20);
      expect(got.filter((m) => m.groupId === 'heavy')).toHaveLength(15);
    });

    it('reports visible depth per group [capability: depthByGroup]', async ({ skip }) => {
      skip(!ctx.depthByGroup, 'adapter lacks it: backend cannot tell');
      await port.sendBatch(queue, [
        { body: '1', groupId: 'a' },
        { body: '2', groupId: 'a' },
        { body: '3', groupId: 'b' },
      ]);
      expect(Object.fromEntries(await port.depthByGroup(queue))).toEqual({ a: 2, b: 1 });
    });
  });
}
