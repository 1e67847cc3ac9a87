import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { NotFoundError, UnavailableError } from '../../core/errors.ts';
import type {
  MessageQueue,
  QueueDepth,
  QueueSettings,
  ReceivedMessage,
  ReceiveOptions,
  SendMessage,
} from '../../ports/message-queue.ts';
import { longPollOptions } from './client-config.ts';
import { createSqsDedup, type SqsDedupTable } from './message-queue-dedup.ts';
import { entryOf, isFifo, toReceived } from './message-queue-messages.ts';

export interface SqsMessageQueueOptions {
  client: SQSClient;
  /**
   * `https://sqs.{region}.amazonaws.com/{account}/`: queue URLs are built from it without a
   * GetQueueUrl call. Without it, names are resolved once with GetQueueUrl and cached.
   */
  queueUrlPrefix?: string;
  /**
   * Standard queues (fair queues included) reject MessageDeduplicationId. With this table, `dedupId`
   * is enforced by a conditional put of `DEDUP#{queue}` / `{dedupId}` that expires after `windowSec`
   * (SQS FIFO's window: 300 s). Without it, `dedupId` on a standard queue is ignored: see `sqsCapabilities`.
   */
  dedup?: SqsDedupTable;
}

/** What the SQS adapter can and cannot promise, for the contract suite's skip guards and for callers. */
export function sqsCapabilities(options: Pick<SqsMessageQueueOptions, 'dedup'>) {
  return {
    /** Dedup ids are honoured on standard queues only with a dedup table (always on `.fifo` queues). */
    dedup: options.dedup !== undefined,
    /** SQS does not report depth per MessageGroupId. */
    depthByGroup: false,
    /** SQS cannot filter a receive by group; excluded groups are received and released (receive count grows). */
    excludeGroupsWithoutReceive: false,
  };
}

const SQS_BATCH = 10;

/**
 * MessageQueue on Amazon SQS standard queues with fair groups (`MessageGroupId` = tenant).
 *
 * `excludeGroups`: SQS cannot filter a receive by group, so messages of excluded groups are received
 * and released at once with ChangeMessageVisibility 0. Each release counts as a receive toward the
 * queue's maxReceiveCount; size the redrive policy with headroom for it. On Lambda the event source
 * does not use `excludeGroups`: fair queues spread tenants server-side.
 */
export function createSqsMessageQueue(options: SqsMessageQueueOptions): MessageQueue {
  const { client, queueUrlPrefix } = options;
  const urls = new Map<string, string>();
  const { claimDedup, firstMessageId, recordDedup, releaseDedup } = createSqsDedup(options.dedup);

  async function urlOf(name: string): Promise<string> {
    const cached = urls.get(name);
    if (cached) return cached;
    const url = queueUrlPrefix
      ? queueUrlPrefix + name
      : (await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    if (!url) throw new UnavailableError(`SQS returned no URL for queue ${name}.`);
    urls.set(name, url);
    return url;
  }

  async function arnOf(name: string): Promise<string> {
    const out = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: await urlOf(name), AttributeNames: ['QueueArn'] }),
    );
    const arn = out.Attributes?.QueueArn;
    if (!arn) throw new UnavailableError(`SQS returned no ARN for queue ${name}.`);
    return arn;
  }

  async function release(queueUrl: string, messages: ReceivedMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += SQS_BATCH) {
      const chunk = messages.slice(i, i + SQS_BATCH);
      await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((m, n) => ({
            Id: String(n),
            ReceiptHandle: m.receiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }

  return {
    async createQueue(name: string, settings: QueueSettings): Promise<void> {
      const attributes: Record<string, string> = { VisibilityTimeout: String(settings.visibilityTimeoutSec) };
      if (settings.retentionSec !== undefined)
        attributes.MessageRetentionPeriod = String(settings.retentionSec);
      if (settings.deadLetterQueue !== undefined) {
        attributes.RedrivePolicy = JSON.stringify({
          deadLetterTargetArn: await arnOf(settings.deadLetterQueue),
          maxReceiveCount: settings.maxReceiveCount ?? 5,
        });
      }
      if (isFifo(name)) attributes.FifoQueue = 'true';
      try {
        const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
        if (out.QueueUrl) urls.set(name, out.QueueUrl);
      } catch (error) {
        // CreateQueue is idempotent only for identical attributes; a re-provision with new settings updates them.
        if ((error as Error).name !== 'QueueNameExists' && (error as Error).name !== 'QueueAlreadyExists')
          throw error;
        const { FifoQueue: _fifo, ...mutable } = attributes;
        await client.send(
          new SetQueueAttributesCommand({ QueueUrl: await urlOf(name), Attributes: mutable }),
        );
      }
    },

    async deleteQueue(name: string): Promise<void> {
      try {
        await client.send(new DeleteQueueCommand({ QueueUrl: await urlOf(name) }));
      } catch (error) {
        if (!isMissingQueue(error)) throw error;
      } finally {
        urls.delete(name);
      }
    },

    async listQueues(prefix?: string): Promise<string[]> {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const out = await client.send(
          new ListQueuesCommand({ QueueNamePrefix: prefix, NextToken: token, MaxResults: 1000 }),
        );
        for (const url of out.QueueUrls ?? []) {
          const name = url.slice(url.lastIndexOf('/') + 1);
          urls.set(name, url);
          names.push(name);
        }
        token = out.NextToken;
      } while (token);
      return names.sort();
    },

    async send(queue: string, message: SendMessage): Promise<{ messageId: string }> {
      const claim = await claimDedup(queue, message.dedupId);
      if (claim === 'duplicate') return { messageId: await firstMessageId(queue, message.dedupId!) };
      const { Id: _id, ...entry } = entryOf(queue, message, '0');
      try {
        const out = await client.send(new SendMessageCommand({ QueueUrl: await urlOf(queue), ...entry }));
        const messageId = out.MessageId ?? '';
        if (claim === 'claimed') await recordDedup(queue, message.dedupId, messageId);
        return { messageId };
      } catch (error) {
        // A failed send must not leave the dedup id claimed, or the caller's retry would be dropped.
        if (claim === 'claimed') await releaseDedup(queue, message.dedupId);
        throw error;
      }
    },

    async sendBatch(queue: string, messages: SendMessage[]): Promise<{ messageId: string }[]> {
      const queueUrl = await urlOf(queue);
      const results: { messageId: string }[] = new Array(messages.length);
      const pending: { index: number; message: SendMessage; claimed: boolean }[] = [];
      for (const [index, message] of messages.entries()) {
        const claim = await claimDedup(queue, message.dedupId);
        if (claim === 'duplicate')
          results[index] = { messageId: await firstMessageId(queue, message.dedupId!) };
        else pending.push({ index, message, claimed: claim === 'claimed' });
      }
      const failures: string[] = [];
      for (let i = 0; i < pending.length; i += SQS_BATCH) {
        const chunk = pending.slice(i, i + SQS_BATCH);
        const out = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((p) => entryOf(queue, p.message, String(p.index))),
          }),
        );
        for (const ok of out.Successful ?? []) {
          results[Number(ok.Id)] = { messageId: ok.MessageId ?? '' };
          const item = chunk.find((p) => String(p.index) === ok.Id);
          if (item?.claimed) await recordDedup(queue, item.message.dedupId, ok.MessageId ?? '');
        }
        for (const failed of out.Failed ?? []) {
          const item = chunk.find((p) => String(p.index) === failed.Id);
          if (item?.claimed) await releaseDedup(queue, item.message.dedupId);
          failures.push(`#${failed.Id}: ${failed.Code} ${failed.Message ?? ''}`.trim());
        }
      }
      if (failures.length > 0) {
        throw new UnavailableError(`SQS rejected ${failures.length} of ${messages.length} messages.`, {
          cause: new Error(failures.join('; ')),
        });
      }
      return results;
    },

    async receive(queue: string, opts: ReceiveOptions): Promise<ReceivedMessage[]> {
      const queueUrl = await urlOf(queue);
      const wanted = Math.max(1, opts.maxMessages);
      const kept: ReceivedMessage[] = [];
      // A signal aborted before the call asks for one claim without waiting, as `waitTimeSec: 0` does (what a
      // consumer handing its slot to one with a backlog now asks: queue-consumer.ts). Ignoring it made every idle consumer of a function thread
      // long-poll a full second per turn, so a backlog behind them (a tenant just promoted under load, its
      // jobs on new queues) drained at about one job a second. A wait already under way is not cut: an
      // aborted long poll can lose the messages SQS picked for it until their visibility timeout.
      let waitTimeSec = opts.signal?.aborted ? 0 : (opts.waitTimeSec ?? 0);
      // SQS hands out at most 10 per call; keep asking while full pages come back.
      while (kept.length < wanted) {
        const out = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(SQS_BATCH, wanted - kept.length),
            WaitTimeSeconds: waitTimeSec,
            ...(opts.visibilityTimeoutSec !== undefined
              ? { VisibilityTimeout: opts.visibilityTimeoutSec }
              : {}),
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          longPollOptions(waitTimeSec),
        );
        const received = (out.Messages ?? []).map(toReceived);
        if (received.length === 0) break;
        const excluded = opts.excludeGroups;
        const released = excluded
          ? received.filter((m) => m.groupId !== undefined && excluded.has(m.groupId))
          : [];
        if (released.length > 0) await release(queueUrl, released);
        kept.push(...received.filter((m) => !released.includes(m)));
        if (released.length > 0) break; // the released messages are visible again: asking again would return them
        waitTimeSec = 0;
      }
      return kept;
    },

    async delete(queue: string, receiptHandle: string): Promise<void> {
      try {
        await client.send(
          new DeleteMessageCommand({ QueueUrl: await urlOf(queue), ReceiptHandle: receiptHandle }),
        );
      } catch (error) {
        // SQS answers a receipt handle of an already deleted message this way; the port treats it as a no-op.
        if ((error as Error).name !== 'ReceiptHandleIsInvalid') throw error;
      }
    },

    async changeVisibility(queue, receiptHandle, timeoutSec, options): Promise<void> {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: await urlOf(queue),
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: timeoutSec,
        }),
        options?.signal ? { abortSignal: options.signal } : {},
      );
    },

    async depth(queue: string): Promise<QueueDepth> {
      const out = await client
        .send(
          new GetQueueAttributesCommand({
            QueueUrl: await urlOf(queue).catch(notFound(queue)),
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
              'ApproximateNumberOfMessagesDelayed',
            ],
          }),
        )
        .catch(notFound(queue));
      const a = out.Attributes ?? {};
      return {
        visible: Number(a.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
      };
    },

    async depthByGroup(): Promise<Map<string, number>> {
      return new Map();
    },

    async purge(queue: string): Promise<void> {
      try {
        await client.send(new PurgeQueueCommand({ QueueUrl: await urlOf(queue) }));
      } catch (error) {
        // SQS allows one purge per queue per 60 s; the one in progress deletes the same messages.
        if ((error as Error).name !== 'PurgeQueueInProgress') throw error;
      }
    },
  };
}

/** The port's NotFoundError for a queue that does not exist (not yet created, or deleted). */
function notFound(queue: string) {
  return (error: unknown): never => {
    if (isMissingQueue(error)) throw new NotFoundError(`Queue ${queue}`);
    throw error;
  };
}

function isMissingQueue(error: unknown): boolean {
  const name = (error as Error).name;
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
}
