import { DeliveryDeadlineError } from '../functions/delivery-deadline.ts';
import type { UnderCircuit } from '../functions/delivery-outcome.ts';
import {
  type DeliveryOutcome,
  retryDelaySec,
  type WebhookEndpoints,
} from '../functions/webhook-endpoints.ts';
import type { MessageQueue, ReceivedMessage } from '../ports/message-queue.ts';

/**
 * Seconds a received message stays invisible: longer than one delivery attempt's deadline
 * (`EndpointLimits.attemptTimeoutMs`), renewed when an attempt starts after a wait for its slot.
 */
const VISIBILITY_SEC = 30;
/** After a receive error (the queue is closing or locked), wait this long before the next receive. */
const RECEIVE_ERROR_PAUSE_MS = 500;

export interface QueueDispatcherOptions {
  queue: MessageQueue;
  queueName: string;
  /** Per-key limits and circuits (the webhook endpoints' policy). */
  endpoints: WebhookEndpoints;
  /** Messages held at once (in flight or waiting for their key's slot), across every key. */
  concurrency: number;
  /**
   * Seconds a received message stays invisible (default 30), and so the longest its handling holds a place
   * without renewing it: past that the message is on the queue again, the place is freed and the
   * handling abandoned (reported as a `DeliveryDeadlineError`), so handlers that never settle (a store
   * call that never answers) cannot take every place for good.
   */
  visibilitySec?: number;
  /** How long `stop()` waits for held messages before leaving them to come back after their visibility, ms. */
  drainMs: number;
  /**
   * The channel-specific part: handles one message and says what became of it. `delivered` deletes it,
   * `failed` reports the error and backs off, `deferred` puts it back for the delay it names.
   */
  handle(message: ReceivedMessage, underCircuit: UnderCircuit): Promise<DeliveryOutcome>;
  onError?(error: unknown): void;
}

/**
 * The fan-out loop shared by the webhook and notification dispatchers: receives up to `concurrency`
 * messages, handles each on its own as soon as it arrives (so one key never waits for another), deletes
 * the delivered, and puts the rest back with exponential backoff and jitter (`retryDelaySec`) until the
 * queue dead-letters them.
 */
export function startQueueDispatcher(options: QueueDispatcherOptions): { stop(): Promise<void> } {
  const { queue, queueName, endpoints } = options;
  const held = new Set<Promise<void>>();
  let stopped = false;
  let wake: (() => void) | undefined;
  const wakeLoop = () => {
    wake?.();
    wake = undefined;
  };
  const report = (error: unknown) => options.onError?.(error);
  const visibilitySec = options.visibilitySec ?? VISIBILITY_SEC;

  /**
   * `renewed` is called each time the message's visibility is extended; `gaveUp` aborts once its handling was
   * abandoned, and with it a renewal still unanswered, which must not hide the message again later.
   */
  async function handle(m: ReceivedMessage, renewed: () => void, gaveUp: AbortSignal): Promise<void> {
    // Here a message that waited a second or more for its key's slot has its visibility extended first.
    const underCircuit: UnderCircuit = (key, deliver) =>
      endpoints.run(key, deliver, async (waitedMs, attemptOver) => {
        if (waitedMs < 1_000) return;
        const signal = AbortSignal.any([gaveUp, attemptOver]);
        await queue.changeVisibility(queueName, m.receiptHandle, visibilitySec, { signal });
        renewed();
      });
    const outcome = await options.handle(m, underCircuit);
    if (outcome.kind === 'delivered') {
      await queue.delete(queueName, m.receiptHandle);
      return;
    }
    if (outcome.kind === 'failed') report(outcome.error);
    await queue.changeVisibility(queueName, m.receiptHandle, retryDelaySec(outcome, m.receiveCount));
  }

  /**
   * Handles `m` within its visibility: settles when the handling does, or once the message's visibility
   * ran out with its handling neither settled nor renewing it. The abandoned handling runs on (its errors
   * still reported); its message is back on the queue and is retried.
   */
  function handleWithinVisibility(m: ReceivedMessage): Promise<void> {
    const ms = visibilitySec * 1000;
    let timer: NodeJS.Timeout | undefined;
    let over = false;
    const gaveUp = new AbortController();
    let abandon: () => void = () => {};
    const abandoned = new Promise<void>((resolve) => {
      abandon = () => {
        gaveUp.abort();
        resolve();
      };
    });
    const arm = () => {
      clearTimeout(timer);
      // An abandoned handling that renews later holds no place to time out.
      if (over) return;
      timer = setTimeout(() => {
        report(new DeliveryDeadlineError(`${queueName} message ${m.messageId}`, ms));
        abandon();
      }, ms);
    };
    arm();
    const work = handle(m, arm, gaveUp.signal).catch(report);
    return Promise.race([work, abandoned]).finally(() => {
      over = true;
      clearTimeout(timer);
    });
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const room = options.concurrency - held.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = await queue
        .receive(queueName, {
          maxMessages: Math.min(10, room),
          visibilityTimeoutSec: visibilitySec,
          waitTimeSec: 1,
        })
        .catch(async (error: unknown) => {
          report(error);
          await new Promise((resolve) => setTimeout(resolve, RECEIVE_ERROR_PAUSE_MS));
          return [];
        });
      for (const m of batch) {
        const running: Promise<void> = handleWithinVisibility(m).finally(() => {
          held.delete(running);
          wakeLoop();
        });
        held.add(running);
      }
    }
    // What is still held after `drainMs` stays invisible and comes back after its visibility: at least
    // once, deduplicated by its message or webhook id.
    const drained = new Promise((resolve) => setTimeout(resolve, options.drainMs).unref());
    await Promise.race([Promise.all(held), drained]);
  }

  const main = loop();
  return {
    async stop() {
      stopped = true;
      wakeLoop();
      await main;
    },
  };
}
