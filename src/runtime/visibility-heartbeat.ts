import type { MessageQueue } from '../ports/message-queue.ts';

/**
 * A visibility extension that had not completed half a heartbeat interval after it was sent: the message may
 * become visible, and run a second time, while its job still runs (its effects stay single: status changes are
 * compare-and-set). Reported, never thrown; the call is abandoned through its signal.
 */
export class HeartbeatLateError extends Error {
  readonly code = 'heartbeat_late';
  constructor(queue: string, receiptHandle: string, ms: number) {
    super(
      `Extending the visibility of message ${receiptHandle} of ${queue} did not complete within ${ms} ms; it may reappear while its job runs`,
    );
    this.name = 'HeartbeatLateError';
  }
}

/** A message whose visibility is kept extended while its job runs, held since `since` (epoch ms). */
export interface HeartbeatMessage {
  queue: string;
  receiptHandle: string;
  since: number;
}

/**
 * How often a message held `visibilityTimeoutSec` is extended, ms: a third of its timeout (at least 500 ms). A
 * message is first extended this long after `since`, so a job settled sooner never races an extension.
 */
export function heartbeatIntervalMs(visibilityTimeoutSec: number): number {
  return Math.max(500, (visibilityTimeoutSec * 1000) / 3);
}

export interface VisibilityHeartbeatOptions {
  messages: Pick<MessageQueue, 'changeVisibility'>;
  visibilityTimeoutSec: number;
  /** The messages to extend at each beat (read anew each time). */
  held(): Iterable<HeartbeatMessage>;
  onError?(error: unknown): void;
}

export interface VisibilityHeartbeat {
  /**
   * Stops extending `receiptHandle` before its message is settled (deleted, given back, retried): its extension
   * in flight is aborted and waited for (no longer than its own deadline), so it cannot land after the settle
   * and hide a message given back, or one whose job already finished. Never rejects.
   */
  release(receiptHandle: string): Promise<void>;
  stop(): void;
}

interface Extension {
  done: Promise<void>;
  abort: AbortController;
}

/**
 * Extends the visibility of what `held()` names every heartbeatIntervalMs, as Lambda's poller does. At most one
 * extension per message is in flight (one that hangs is not piled on at each beat), and one that has not
 * completed within half an interval is reported (HeartbeatLateError) and aborted: the next beat sends another.
 */
export function startVisibilityHeartbeat(options: VisibilityHeartbeatOptions): VisibilityHeartbeat {
  const { messages, visibilityTimeoutSec } = options;
  const intervalMs = heartbeatIntervalMs(visibilityTimeoutSec);
  const inFlight = new Map<string, Extension>();
  /** When each held message was last extended (sent), to extend it again an interval later. */
  const extendedAt = new Map<string, number>();
  const released = new Set<string>();
  const reported = (error: unknown) => {
    try {
      options.onError?.(error);
    } catch {
      // onError itself failed: nothing is left to tell.
    }
  };

  const extend = ({ queue, receiptHandle, since }: HeartbeatMessage, now: number) => {
    if (inFlight.has(receiptHandle) || released.has(receiptHandle)) return;
    if (now - (extendedAt.get(receiptHandle) ?? since) < intervalMs) return;
    extendedAt.set(receiptHandle, now);
    const abort = new AbortController();
    // Half an interval: abandoned well before the next one is due, so the two are never both in flight.
    const late = setTimeout(() => {
      const error = new HeartbeatLateError(queue, receiptHandle, intervalMs / 2);
      abort.abort(error);
      reported(error);
    }, intervalMs / 2);
    const done = messages
      .changeVisibility(queue, receiptHandle, visibilityTimeoutSec, { signal: abort.signal })
      .catch((error: unknown) => {
        // An extension abandoned (late, or its message released) fails with the abort: already told, or wanted.
        if (!abort.signal.aborted) reported(error);
      })
      .finally(() => {
        clearTimeout(late);
        inFlight.delete(receiptHandle);
      });
    inFlight.set(receiptHandle, { done, abort });
  };

  // Every half interval, so each message is extended between one and one and a half intervals after the last.
  const timer = setInterval(() => {
    const now = Date.now();
    const seen = new Set<string>();
    for (const message of options.held()) {
      seen.add(message.receiptHandle);
      extend(message, now);
    }
    for (const handle of extendedAt.keys()) if (!seen.has(handle)) extendedAt.delete(handle);
  }, intervalMs / 2);

  return {
    async release(receiptHandle) {
      released.add(receiptHandle);
      const extension = inFlight.get(receiptHandle);
      if (extension) {
        extension.abort.abort(new Error('released'));
        // An adapter that cannot abort its call (none can wait today) is waited for no longer than its deadline.
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([
          extension.done,
          new Promise<void>((resolve) => {
            bound = setTimeout(resolve, intervalMs / 2);
          }),
        ]);
        clearTimeout(bound);
      }
      released.delete(receiptHandle);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
