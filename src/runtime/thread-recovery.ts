import { canReleaseForRetry, canReleaseUncounted, type MessageQueue } from '../ports/message-queue.ts';
import type { HeldMessage } from './function-runtime.ts';
import { retryDelaySec } from './queue-consumer.ts';
import { RECOVERY_TIMEOUT_MS, settledWithin } from './settle-deadline.ts';

export interface ThreadRecoveryOptions {
  /** The host's own connection: what a thread that died still held goes back through it. */
  messages: MessageQueue;
  /** See FunctionThreadsOptions.settleTimedOut. */
  settleTimedOut?(message: HeldMessage): Promise<boolean> | undefined;
  /** Default RECOVERY_TIMEOUT_MS (settle-deadline.ts). */
  recoveryTimeoutMs?: number;
  onFinish?(message: HeldMessage): void;
  onError?(error: unknown): void;
}

/**
 * What an ended thread still held (`held`): the message past its time limit (`timedOut`) has its job
 * settled (not retried); the others failed with the thread and are retried after a backoff, as a crashed
 * Lambda's batch is. Resolves within `recoveryTimeoutMs` whatever the store and queue do; never rejects.
 */
export async function recoverHeld(
  options: ThreadRecoveryOptions,
  held: readonly HeldMessage[],
  timedOut: HeldMessage | undefined,
): Promise<void> {
  const ms = options.recoveryTimeoutMs ?? RECOVERY_TIMEOUT_MS;
  const reported = (error: unknown) => options.onError?.(error);
  await Promise.all(
    held.map(async (message) => {
      const work =
        timedOut === message && options.settleTimedOut
          ? settle(options, message)
          : retry(options.messages, message);
      await settledWithin(
        work,
        ms,
        `Settling message ${message.receiptHandle} of ${message.queue} after its thread ended`,
        reported,
      );
      options.onFinish?.(message);
    }),
  );
}

/**
 * A job that never started goes back uncounted only if it may have waited its turn behind an earlier record
 * of its event (`batchIndex` > 0). Else its own run hung before `running` (a store that never answers), alone
 * on its thread or beside other events (EVENTS_PER_THREAD > 1): uncounted, it hung again for ever; retried,
 * it is counted and dead-letters after its receives.
 */
async function settle(options: ThreadRecoveryOptions, message: HeldMessage): Promise<void> {
  const { messages } = options;
  const done = await Promise.resolve(options.settleTimedOut!(message)).catch((error: unknown) => {
    options.onError?.(error);
    return undefined;
  });
  if (done === true) await messages.delete(message.queue, message.receiptHandle);
  else if (done === false && (message.batchIndex ?? 0) > 0 && canReleaseUncounted(messages))
    await messages.releaseUnstarted(message.queue, message.receiptHandle);
  else await retry(messages, message);
}

async function retry(messages: MessageQueue, message: HeldMessage): Promise<void> {
  const delaySec = retryDelaySec(message.receiveCount);
  if (canReleaseForRetry(messages))
    await messages.releaseForRetry(message.queue, message.receiptHandle, delaySec);
  else await messages.changeVisibility(message.queue, message.receiptHandle, delaySec);
}
