import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsMessageQueue } from '../../src/adapters/aws/message-queue.ts';
import { deadLetterQueueName, type MessageQueue } from '../../src/ports/message-queue.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';

let aws: AwsEmulators;
let queue: MessageQueue;
let dedupQueue: MessageQueue;

beforeAll(async () => {
  aws = await startAwsEmulators();
  queue = createSqsMessageQueue({ client: aws.sqs });
  dedupQueue = createSqsMessageQueue({
    client: aws.sqs,
    dedup: { client: aws.dynamo, tableName: await aws.createTable('dedup') },
  });
});
afterAll(() => aws.stop());

const queueName = () => `shared_q${randomUUID().slice(0, 8)}`;

describe('SQS message queue', () => {
  it('carries group, cost, priority and attributes, and counts receives', async () => {
    const name = queueName();
    await queue.createQueue(name, { visibilityTimeoutSec: 30 });
    await queue.send(name, {
      body: '{"job":1}',
      groupId: 't-a1',
      cost: 3,
      priority: 1,
      attributes: { kind: 'x' },
    });
    const [first] = await queue.receive(name, { maxMessages: 10 });
    expect(first).toMatchObject({
      body: '{"job":1}',
      groupId: 't-a1',
      attributes: { kind: 'x' },
      receiveCount: 1,
    });
    await queue.changeVisibility(name, first!.receiptHandle, 0);
    const [again] = await queue.receive(name, { maxMessages: 10 });
    expect(again?.receiveCount).toBe(2);
    expect(again?.messageId).toBe(first?.messageId);
    await queue.delete(name, again!.receiptHandle);
    expect(await queue.depth(name)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const name = queueName();
    const dlq = deadLetterQueueName(name);
    await queue.createQueue(dlq, { visibilityTimeoutSec: 30 });
    await queue.createQueue(name, { visibilityTimeoutSec: 30, maxReceiveCount: 2, deadLetterQueue: dlq });
    await queue.send(name, { body: 'poison' });
    for (let i = 0; i < 2; i++) {
      const [m] = await queue.receive(name, { maxMessages: 1 });
      await queue.changeVisibility(name, m!.receiptHandle, 0);
    }
    expect(await queue.receive(name, { maxMessages: 1 })).toEqual([]);
    expect((await queue.receive(dlq, { maxMessages: 1 }))[0]?.body).toBe('poison');
  });

  it('releases messages of excluded groups back to the queue', async () => {
    const name = queueName();
    await queue.createQueue(name, { visibilityTimeoutSec: 30 });
    await queue.sendBatch(name, [
      { body: 'busy', groupId: 'busy' },
      { body: 'free', groupId: 'free' },
    ]);
    const got = await queue.receive(name, { maxMessages: 10, excludeGroups: new Set(['busy']) });
    expect(got.map((m) => m.body)).toEqual(['free']);
    expect((await queue.depth(name)).visible).toBe(1);
  });

  it('sends batches of more than ten and receives them all', async () => {
    const name = queueName();
    await queue.createQueue(name, { visibilityTimeoutSec: 30 });
    const sent = await queue.sendBatch(
      name,
      Array.from({ length: 23 }, (_, i) => ({ body: String(i) })),
    );
    expect(sent).toHaveLength(23);
    const got = await queue.receive(name, { maxMessages: 30 });
    expect(got.map((m) => Number(m.body)).sort((a, b) => a - b)).toEqual([...Array(23).keys()]);
  });

  it('honours dedup ids on standard queues through the dedup table', async () => {
    const name = queueName();
    await dedupQueue.createQueue(name, { visibilityTimeoutSec: 30 });
    await dedupQueue.send(name, { body: 'once', dedupId: 'job-1' });
    await dedupQueue.send(name, { body: 'once', dedupId: 'job-1' });
    await dedupQueue.sendBatch(name, [
      { body: 'once', dedupId: 'job-1' },
      { body: 'other', dedupId: 'job-2' },
    ]);
    expect((await dedupQueue.depth(name)).visible).toBe(2);
  });

  it('lists, purges and deletes queues', async () => {
    const name = queueName();
    await queue.createQueue(name, { visibilityTimeoutSec: 30 });
    expect(await queue.listQueues(name)).toEqual([name]);
    await queue.send(name, { body: 'x' });
    await queue.purge(name);
    expect((await queue.depth(name)).visible).toBe(0);
    await queue.deleteQueue(name);
    expect(await queue.listQueues(name)).toEqual([]);
    await queue.deleteQueue(name);
  });
});
