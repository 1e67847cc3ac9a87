import { withinDeadline } from '../functions/delivery-deadline.ts';
import { canReleaseForRetry, canReleaseUncounted, type MessageQueue } from '../ports/message-queue.ts';
import type { HeldMessage } from './function-runtime.ts';
import { retryDelaySec } from './queue-consumer.ts';

/**
 * How long the messages an ended function thread held may take to be settled or given back, ms. Each is a
 * store write or two and a queue call, milliseconds when they answer; this outlasts the AWS clients' own
 * attempts at one call (adapters/aws/client-config.ts). One that never settles held the thread's exit, and
 * with it `FunctionThreads.close()` and the server's stop, for good; abandoned at this deadline, the message
 * still comes back to its queue when its visibility timeout ends.
 */
export const RECOVERY_TIMEOUT_MS = 30_000;

export interface ThreadRecoveryOptions {
  /** The host's own connection: what a thread that died still held goes back through it. */
  messages: MessageQueue;
  /** See FunctionThreadsOptions.settleTimedOut. */
  settleTimedOut?(message: HeldMessage): Promise<boolean> | undefined;
  /** Default RECOVERY_TIMEOUT_MS. */
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
  const deadline = Date.now() + (options.recoveryTimeoutMs ?? RECOVERY_TIMEOUT_MS);
  await Promise.all(
    held.map(async (message) => {
      try {
        const work =
          timedOut === message && options.settleTimedOut
            ? settle(options, message, held.length === 1)
            : retry(options.messages, message);
        await withinDeadline(
          work,
          deadline,
          `Settling message ${message.receiptHandle} of ${message.queue} after its thread ended`,
          (late) => options.onError?.(late),
        );
      } catch (error) {
        options.onError?.(error);
      } finally {
        options.onFinish?.(message);
      }
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
