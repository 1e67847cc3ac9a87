import type { SQSBatchResponse } from 'aws-lambda';
import { backoffMs } from '../core/backoff.ts';
import {
  canReleaseForRetry,
  canReleaseUncounted,
  type MessageQueue,
  type ReceivedMessage,
  type RunningLimit,
} from '../ports/message-queue.ts';
import type { FunctionRuntime } from './function-runtime.ts';
import { RECOVERY_TIMEOUT_MS, settledWithin } from './settle-deadline.ts';
import { FunctionBusyError, FunctionTimeoutError, type InvokeOptions } from './slot-reservations.ts';
import { toSqsEvent } from './sqs-event.ts';
import { startVisibilityHeartbeat } from './visibility-heartbeat.ts';

/**
 * The reason a receive's wait is cut short (stopping, or slots given back): one object, not the
 * `DOMException` (with its stack) that `abort()` makes when given none. Nothing reads it.
 */
const WAIT_CUT = Object.freeze({ reason: 'wait cut short' });

export interface ConsumerOptions {
  queue: string;
  runtime: FunctionRuntime;
  messages: MessageQueue;
  visibilityTimeoutSec: number;
  /** Records per event (Lambda's batch size). */
  batchSize: number;
  /** Tenants (groups) not to start more jobs for now: at their running-jobs limit. */
  blockedGroups?(): ReadonlySet<string>;
  /**
   * Whether this consumer extends its messages' visibility while they run (default true). A function
   * thread's consumer does not: a model run is synchronous CPU work that would hold up its own timer, so
   * the host keeps the thread's messages invisible (see worker-pool.ts).
   */
  heartbeat?: boolean;
  /**
   * With `heartbeat: false`: called once a batch's run is over, before its messages are settled, so whoever
   * extends their visibility stops first and no late extension lands after the settle. Bounded by
   * `settleTimeoutMs`.
   */
  beforeSettle?(batch: ReceivedMessage[]): Promise<void> | undefined;
  /** Running limits the queue counts in its claim (see `ReceiveOptions.runningLimit`). */
  runningLimit?: RunningLimit;
  /**
   * Milliseconds a message's job may run (a promise while it is looked up; undefined: no limit). An event of
   * several messages gets the largest of theirs, so no job is stopped before its own limit.
   */
  timeLimitMs?(message: ReceivedMessage): number | undefined | Promise<number | undefined>;
  /**
   * Settles the job of a message whose event ran past its time limit: true when the message is done with
   * (the job failed with `timeout`, or had ended), false when its job never started and it goes back.
   * Absent: a timeout is an ordinary failure, retried.
   */
  settleTimedOut?(message: ReceivedMessage): Promise<boolean>;
  /** How long settling a message after its run may take, ms; default RECOVERY_TIMEOUT_MS (settle-deadline.ts). */
  settleTimeoutMs?: number;
  /** `batchIndex`: the message's place in its event (0: first; the records of an event run in order). */
  onStart?(message: ReceivedMessage, batchIndex: number): void;
  onFinish?(message: ReceivedMessage, ok: boolean): void;
  onError?(error: unknown): void;
}

export interface QueueConsumer {
  stop(): Promise<void>;
  inFlight(): number;
}

/**
 * What Lambda's SQS event source mapping does, locally: long-poll, hand batches to the function, keep
 * long runs invisible with heartbeats, delete what succeeded and leave failures to reappear. Like the
 * mapping, it only receives what the function can start now: slots are reserved before the receive.
 */
export function startQueueConsumer(options: ConsumerOptions): QueueConsumer {
  const { queue, runtime, messages } = options;
  let stopped = false;
  const stopping = new AbortController();
  const running = new Set<Promise<void>>();

  /**
   * Reports a failure of a call whose caller goes on (a delete, a heartbeat): `.catch(options.onError)` with
   * no onError given let the rejection through, to an unhandled rejection (a heartbeat's) or a dispatch that
   * rejected with nobody awaiting it.
   */
  const reported = (error: unknown): void => options.onError?.(error);
  /** `reported`, for a rejection with no caller left to take an error of onError's own. */
  const reportedSafely = (error: unknown): void => {
    try {
      reported(error);
    } catch {
      // onError itself failed: nothing is left to tell.
    }
  };

  /**
   * The onFinish hook, once per message whatever it throws (reported): the host counts running jobs per
   * tenant by onStart and onFinish, so one hook failing must not skip the others of its batch.
   */
  const finished = (m: ReceivedMessage, ok: boolean): void => {
    try {
      options.onFinish?.(m, ok);
    } catch (error) {
      reportedSafely(error);
    }
  };

  /**
   * `work` (a message's delete, give-back or settle after its run), abandoned and reported once the settle
   * deadline passes: one call that never answered held stop(), and the server's stop, for good.
   */
  const bounded = <T>(m: ReceivedMessage, work: Promise<T>): Promise<T | undefined> =>
    settledWithin(
      work,
      options.settleTimeoutMs ?? RECOVERY_TIMEOUT_MS,
      `Settling message ${m.receiptHandle} of ${queue} after its run`,
      reportedSafely,
    );

  /** A message whose function never started goes back as if never received (where the queue can). */
  const giveBack = (m: ReceivedMessage): Promise<void> =>
    (canReleaseUncounted(messages)
      ? messages.releaseUnstarted(queue, m.receiptHandle)
      : messages.changeVisibility(queue, m.receiptHandle, 0)
    ).catch(reported);

  async function dispatch(batch: ReceivedMessage[], invoked: Promise<SQSBatchResponse>): Promise<void> {
    // The function is running already: a hook that throws must not end this before it settles the batch
    // (the messages would stay in flight and run again, and `invoked` would reject unobserved).
    for (const [index, m] of batch.entries()) {
      try {
        options.onStart?.(m, index);
      } catch (error) {
        reportedSafely(error);
      }
    }
    const since = Date.now();
    const beat =
      options.heartbeat === false
        ? undefined
        : startVisibilityHeartbeat({
            messages,
            visibilityTimeoutSec: options.visibilityTimeoutSec,
            held: () => batch.map((m) => ({ queue, receiptHandle: m.receiptHandle, since })),
            onError: reportedSafely,
          });
    // Before any settle: an extension still in flight, landing after a give-back or a retry's short delay,
    // hid the message a whole visibility timeout more (or, after a delete, was an error for nothing).
    const quiet = async () => {
      beat?.stop();
      const work: Promise<unknown> | undefined = beat
        ? Promise.all(batch.map((m) => beat.release(m.receiptHandle)))
        : options.beforeSettle?.(batch);
      if (work) await bounded(batch[0]!, work);
    };
    let failed = new Set(batch.map((m) => m.messageId));
    try {
      const response = await invoked;
      failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    } catch (error) {
      if (error instanceof FunctionBusyError) {
        await quiet();
        await Promise.all(batch.map((m) => bounded(m, giveBack(m))));
        for (const m of batch) finished(m, false);
        return;
      }
      if (error instanceof FunctionTimeoutError && options.settleTimedOut) {
        await quiet();
        await Promise.all(
          batch.map(async (m, index) =>
            finished(m, (await bounded(m, settleTimedOut(m, index, options.settleTimedOut!))) === true),
          ),
        );
        return;
      }
      reportedSafely(error); // an onError that throws must not leave the batch unsettled
    } finally {
      beat?.stop();
    }
    await quiet();
    await Promise.all(
      batch.map(async (m) => {
        const ok = !failed.has(m.messageId);
        await bounded(m, ok ? messages.delete(queue, m.receiptHandle).catch(reported) : retryLater(m));
        finished(m, ok);
      }),
    );
  }

  /** A failure is retried after a short backoff rather than the full visibility timeout. */
  function retryLater(m: ReceivedMessage): Promise<void> {
    const delaySec = retryDelaySec(m.receiveCount);
    return (
      canReleaseForRetry(messages)
        ? messages.releaseForRetry(queue, m.receiptHandle, delaySec)
        : messages.changeVisibility(queue, m.receiptHandle, delaySec)
    ).catch(reported);
  }

  /**
   * Not retried: a model run is deterministic, so the same job would run as long again. The job is settled
   * before its message goes, so a crash in between redelivers a message whose job has ended, which the
   * handler only announces. A job that never started goes back uncounted only behind an earlier record of
   * its event (`batchIndex` > 0: it may have waited its turn); the first record's own run hung before it
   * started (platform code, a store that never answers), and given back uncounted it hung again for ever:
   * counted, it dead-letters after its receives. True when the message is done with (deleted).
   */
  async function settleTimedOut(
    m: ReceivedMessage,
    batchIndex: number,
    settle: (m: ReceivedMessage) => Promise<boolean>,
  ): Promise<boolean> {
    let done: boolean | undefined;
    try {
      done = await settle(m);
    } catch (error) {
      reportedSafely(error);
    }
    if (done === true) await messages.delete(queue, m.receiptHandle).catch(reported);
    else if (done === false && batchIndex > 0) await giveBack(m);
    else await retryLater(m);
    return done === true;
  }

  /** The event's limit: the largest of its messages' (see `timeLimitMs`). */
  function timeLimitOf(batch: ReceivedMessage[]): InvokeOptions {
    if (!options.timeLimitMs) return {};
    const limits = batch.map((m) => options.timeLimitMs!(m));
    const largest = (values: (number | undefined)[]) =>
      values.some((v) => v === undefined) ? undefined : Math.max(...(values as number[]));
    if (limits.every((l) => typeof l === 'number' || l === undefined)) {
      return { timeLimitMs: largest(limits as (number | undefined)[]) };
    }
    return { timeLimitMs: Promise.all(limits).then(largest) };
  }

  async function loop(): Promise<void> {
    // A consumer whose last receive came back full has a backlog: it takes every free slot, and may ask
    // consumers long-polling an empty queue to give theirs back. Otherwise it long-polls on one slot.
    let backlog = false;
    while (!stopped) {
      // With running limits kept here, one batch per claim: each claim then sees the tenants the previous
      // batch brought to their limit, which a claim of several batches could hand out twice. A queue that
      // counts them in its claim (runningLimit) needs no such care.
      const batches = options.blockedGroups || !backlog ? 1 : Math.ceil(10 / options.batchSize);
      const lease = await runtime.acquire({ max: batches, hungry: backlog, signal: stopping.signal });
      if (lease.held === 0) {
        if (!stopped) await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      // Stopped in the turn the slots were granted: `stopping` has already fired, so the listener added below
      // would never cut the wait, and stop() would wait out a whole long poll (and give back what it got).
      if (stopped) {
        lease.release();
        break;
      }
      const maxMessages = Math.min(10, lease.held * options.batchSize);
      // Asked at once to give the slots back (another consumer of the runtime has a backlog), this consumer
      // claims once without waiting, which needs nothing to cut a wait short. That happens once per job a
      // busy neighbour runs (an idle model queue beside a busy one), so it makes no AbortController: one
      // made and aborted per job was 1–2 % of a function thread's time (session 14, `--cpu-prof`).
      let giveBackNow = false;
      let waiting: AbortController | undefined;
      const abortWait = () => {
        giveBackNow = true;
        waiting?.abort(WAIT_CUT);
      };
      const endWait = runtime.whileWaiting(abortWait);
      if (!giveBackNow) {
        waiting = new AbortController();
        stopping.signal.addEventListener('abort', abortWait, { once: true });
      }
      let received: ReceivedMessage[];
      try {
        received = await messages.receive(queue, {
          maxMessages,
          visibilityTimeoutSec: options.visibilityTimeoutSec,
          waitTimeSec: waiting ? 1 : 0,
          ...(waiting ? { signal: waiting.signal } : {}),
          ...(options.blockedGroups ? { excludeGroups: options.blockedGroups() } : {}),
          ...(options.runningLimit ? { runningLimit: options.runningLimit } : {}),
        });
      } catch (error) {
        lease.release();
        if (stopped) break;
        reportedSafely(error);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      } finally {
        endWait();
        if (waiting) stopping.signal.removeEventListener('abort', abortWait);
      }
      if (stopped) {
        lease.release();
        await Promise.all(received.map((m) => bounded(m, giveBack(m))));
        break;
      }
      backlog = received.length === maxMessages;
      let started = 0;
      try {
        for (; started < received.length; started += options.batchSize) {
          const batch = received.slice(started, started + options.batchSize);
          // Invoked here, synchronously, on a slot of the lease: nobody else can take it in between.
          // A dispatch that throws (an onStart or onFinish hook) is reported, never left to reject unobserved:
          // `running` holds promises that resolve, and stop() awaits them.
          const task = dispatch(batch, lease.invoke(toSqsEvent(queue, batch), timeLimitOf(batch))).catch(
            reportedSafely,
          );
          running.add(task);
          task.finally(() => running.delete(task));
        }
      } catch (error) {
        // An event that could not be built or invoked (a `timeLimitMs` that threw): its messages and the rest
        // never started, so they go back, and the lease's other slots too. Thrown out of the loop, it kept
        // the slots reserved for good (the runtime's other consumers starved) and rejected unobserved.
        lease.release();
        reportedSafely(error); // an onError that throws must not keep these messages from going back
        await Promise.all(received.slice(started).map((m) => bounded(m, giveBack(m))));
        continue;
      }
      lease.release();
    }
  }

  const main = loop();
  return {
    inFlight: () => running.size,
    async stop() {
      stopped = true;
      stopping.abort();
      await main;
      await Promise.all(running);
    },
  };
}

/** Seconds a failed delivery waits: 1, 2, 4, … up to a minute. */
export function retryDelaySec(receiveCount: number): number {
  return backoffMs(receiveCount - 1, { baseMs: 1000, maxMs: 60_000 }) / 1000;
}
