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
          ? settle(options, message, held.length === 1)
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
 * `alone`: the thread held no other message, so a job that never started was not waiting behind another's
 * run: its own run hung before its `running` status (platform code, a store that never answers). Given
 * back uncounted, it ran and hung again for ever, a thread lost per time limit; retried, it is counted
 * and dead-letters after its receives.
 */
async function settle(options: ThreadRecoveryOptions, message: HeldMessage, alone: boolean): Promise<void> {
  const { messages } = options;
  const done = await Promise.resolve(options.settleTimedOut!(message)).catch((error: unknown) => {
    options.onError?.(error);
    return undefined;
  });
  if (done === true) await messages.delete(message.queue, message.receiptHandle);
  else if (done === false && !alone && canReleaseUncounted(messages))
    await messages.releaseUnstarted(message.queue, message.receiptHandle);
  else await retry(messages, message);
}

async function retry(messages: MessageQueue, message: HeldMessage): Promise<void> {
  const delaySec = retryDelaySec(message.receiveCount);
  if (canReleaseForRetry(messages))
    await messages.releaseForRetry(message.queue, message.receiptHandle, delaySec);
  else await messages.changeVisibility(message.queue, message.receiptHandle, delaySec);
}
