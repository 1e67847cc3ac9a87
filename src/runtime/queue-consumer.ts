import type { MessageQueue, ReceivedMessage } from '../ports/message-queue.ts';
import type { FunctionRuntime } from './function-runtime.ts';
import { toSqsEvent } from './sqs-event.ts';

export interface ConsumerOptions {
  queue: string;
  runtime: FunctionRuntime;
  messages: MessageQueue;
  visibilityTimeoutSec: number;
  /** Records per event (Lambda's batch size). */
  batchSize: number;
  /** Tenants (groups) not to start more jobs for now: at their running-jobs limit. */
  blockedGroups?(): ReadonlySet<string>;
  onStart?(message: ReceivedMessage): void;
  onFinish?(message: ReceivedMessage, ok: boolean): void;
  onError?(error: unknown): void;
}

export interface QueueConsumer {
  stop(): Promise<void>;
  inFlight(): number;
}

/**
 * What Lambda's SQS event source mapping does, locally: long-poll, hand batches to the function, keep
 * long runs invisible with heartbeats, delete what succeeded and leave failures to reappear.
 */
export function startQueueConsumer(options: ConsumerOptions): QueueConsumer {
  const { queue, runtime, messages } = options;
  let stopped = false;
  const running = new Set<Promise<void>>();

  async function dispatch(batch: ReceivedMessage[]): Promise<void> {
    for (const m of batch) options.onStart?.(m);
    const heartbeatMs = Math.max(500, (options.visibilityTimeoutSec * 1000) / 3);
    const heartbeat = setInterval(() => {
      for (const m of batch) {
        messages
          .changeVisibility(queue, m.receiptHandle, options.visibilityTimeoutSec)
          .catch(options.onError);
      }
    }, heartbeatMs);
    let failed = new Set(batch.map((m) => m.messageId));
    try {
      const response = await runtime.invoke(toSqsEvent(queue, batch));
      failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    } catch (error) {
      options.onError?.(error);
    } finally {
      clearInterval(heartbeat);
    }
    await Promise.all(
      batch.map(async (m) => {
        const ok = !failed.has(m.messageId);
        if (ok) await messages.delete(queue, m.receiptHandle).catch(options.onError);
        // A failure is retried after a short backoff rather than the full visibility timeout.
        else
          await messages
            .changeVisibility(queue, m.receiptHandle, backoffSec(m.receiveCount))
            .catch(options.onError);
        options.onFinish?.(m, ok);
      }),
    );
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const free = runtime.freeSlots();
      if (free === 0) {
        await runtime.whenFree();
        continue;
      }
      let received: ReceivedMessage[];
      // With running limits, one batch per claim: each claim then sees the tenants the previous batch
      // brought to their limit, which a claim of several batches could hand out twice.
      const batches = options.blockedGroups ? 1 : free;
      try {
        received = await messages.receive(queue, {
          maxMessages: Math.min(10, batches * options.batchSize),
          visibilityTimeoutSec: options.visibilityTimeoutSec,
          waitTimeSec: 1,
          ...(options.blockedGroups ? { excludeGroups: options.blockedGroups() } : {}),
        });
      } catch (error) {
        if (stopped) break;
        options.onError?.(error);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (stopped) {
        await Promise.all(
          received.map((m) => messages.changeVisibility(queue, m.receiptHandle, 0).catch(() => undefined)),
        );
        break;
      }
      for (let i = 0; i < received.length; i += options.batchSize) {
        const task = dispatch(received.slice(i, i + options.batchSize));
        running.add(task);
        task.finally(() => running.delete(task));
      }
    }
  }

  const main = loop();
  return {
    inFlight: () => running.size,
    async stop() {
      stopped = true;
      await main;
      await Promise.all(running);
    },
  };
}

function backoffSec(receiveCount: number): number {
  return Math.min(60, 2 ** Math.max(0, receiveCount - 1));
}
