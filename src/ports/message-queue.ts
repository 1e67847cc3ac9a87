/** A queue port with the semantics of Amazon SQS (standard queues with fair groups), not of an in-memory array. */

export interface QueueSettings {
  /** Default seconds a received message stays invisible to other consumers. */
  visibilityTimeoutSec: number;
  /** After this many receives without a delete, the message moves to `deadLetterQueue`. */
  maxReceiveCount?: number;
  deadLetterQueue?: string;
  /** Seconds a message is kept before it expires (SQS default 4 days). */
  retentionSec?: number;
}

export interface SendMessage {
  body: string;
  /** Fairness group (the tenant in shared queues): SQS fair queues' `MessageGroupId`. */
  groupId?: string;
  /** Messages with the same dedup id within the dedup window are accepted once. */
  dedupId?: string;
  delaySec?: number;
  /** Relative cost for fair scheduling; 1 when absent. */
  cost?: number;
  /** Smaller runs first within a group. 0 when absent. */
  priority?: number;
  attributes?: Record<string, string>;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  groupId?: string;
  attributes: Record<string, string>;
  /** What the sender set, so a redrive can send the message again unchanged; absent when it set none. */
  priority?: number;
  cost?: number;
  /** How many times this message has been received, this time included. */
  receiveCount: number;
  sentAt: number;
  firstReceivedAt: number;
}

export interface ReceiveOptions {
  maxMessages: number;
  visibilityTimeoutSec?: number;
  /** Long polling: wait up to this long for a message when the queue is empty. */
  waitTimeSec?: number;
  /** Groups not to hand out now (for example tenants at their running-jobs limit). */
  excludeGroups?: ReadonlySet<string>;
  /**
   * Hands a group no more messages than its running limit, counting its messages in flight on every queue
   * of `scope` inside the claim (so claims on several connections at once never exceed it). Adapters that
   * cannot count in the claim (SQS) ignore it; their callers pass `excludeGroups` instead.
   */
  runningLimit?: RunningLimit;
  /**
   * Stops the long-poll wait early (an empty result). Only the wait is cut short: an adapter that cannot
   * abort a wait without losing the messages the backend may already have picked (SQS) ends it normally.
   * Aborted before the call, on every adapter: one claim without waiting (what is there now, or nothing).
   */
  signal?: AbortSignal;
}

export interface RunningLimit {
  /** The queues whose in-flight messages count toward a group's limit (a tenant's shared model queues). */
  scope: readonly string[];
  /** The limit of a group that has none recorded (see `RunningLimits.setGroupLimit`). */
  defaultLimit: number;
}

/** Queues that enforce running limits in the claim (the embedded one): the limit of each group. */
export interface RunningLimits {
  /** At most `maxRunning` messages of `group` in flight at once over a `RunningLimit` scope; 0 pauses it. */
  setGroupLimit(group: string, maxRunning: number): Promise<void>;
  /** Messages in flight per group over `scope` now: the jobs each tenant is running. */
  runningByGroup(scope: readonly string[]): Promise<Map<string, number>>;
}

export function hasRunningLimits(queue: MessageQueue): queue is MessageQueue & RunningLimits {
  return typeof (queue as Partial<RunningLimits>).setGroupLimit === 'function';
}

/**
 * Ends a delivery that failed: the message comes back after `delaySec` with its receive counted, and it
 * stops counting as in flight (running) at once, not when the delay ends. On queues without it
 * `changeVisibility` does the same, except for the running count, which they do not keep.
 */
export interface RetryRelease {
  releaseForRetry(queue: string, receiptHandle: string, delaySec: number): Promise<void>;
}

export function canReleaseForRetry(queue: MessageQueue): queue is MessageQueue & RetryRelease {
  return typeof (queue as Partial<RetryRelease>).releaseForRetry === 'function';
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export interface MessageQueue {
  createQueue(name: string, settings: QueueSettings): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  listQueues(prefix?: string): Promise<string[]>;
  send(queue: string, message: SendMessage): Promise<{ messageId: string }>;
  /** All or nothing per call on the embedded adapter; per entry on SQS (failed entries throw). */
  sendBatch(queue: string, messages: SendMessage[]): Promise<{ messageId: string }[]>;
  receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]>;
  /** Deleting with a stale receipt handle (the message was received again since) is a no-op, as on SQS. */
  delete(queue: string, receiptHandle: string): Promise<void>;
  /**
   * Hides the message `timeoutSec` more seconds (0: visible now). `signal` abandons the call: an adapter whose
   * call can wait (SQS) ends it, so a heartbeat given up never lands after the message was settled.
   */
  changeVisibility(
    queue: string,
    receiptHandle: string,
    timeoutSec: number,
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  depth(queue: string): Promise<QueueDepth>;
  /** Visible depth per group (tenant) where the backend can tell; empty map where it cannot (SQS). */
  depthByGroup(queue: string): Promise<Map<string, number>>;
  /** Deletes every message of a queue. */
  purge(queue: string): Promise<void>;
}

/** Dead-letter queue name convention shared by every adapter and the CDK app. */
export function deadLetterQueueName(queue: string): string {
  return `${queue}-dlq`;
}

/**
 * Gives a received message back as if it had never been received: visible at once, its receive count
 * (and so its way to the dead-letter queue) unchanged. For a delivery whose function never started.
 * The embedded queue has it; SQS does not (ChangeMessageVisibility 0 still counts a receive), and on AWS it
 * is not needed: Lambda's event source mapping only receives what it invokes.
 */
export interface UncountedRelease {
  releaseUnstarted(queue: string, receiptHandle: string): Promise<void>;
}

export function canReleaseUncounted(queue: MessageQueue): queue is MessageQueue & UncountedRelease {
  return typeof (queue as Partial<UncountedRelease>).releaseUnstarted === 'function';
}

/** A message the queue moved to a dead-letter queue, recorded in the same commit as the move. */
export interface DeadLetterRecord {
  /** Identifies the record for `settled`. */
  id: number;
  /** The queue the message was dead-lettered from. */
  source: string;
  messageId: string;
  body: string;
  /** Receives the message had when it was moved. */
  receiveCount: number;
  /** Epoch milliseconds of the move. */
  movedAt: number;
}

/**
 * An outbox of dead-letter moves, for queues that move messages themselves (the embedded queue): whatever
 * a dead letter means for its job is done from here, crash-safe, because the move and its record are one
 * commit and a record goes only when `settled` says so. On SQS the dead-letter queue's consumer does it.
 */
export interface DeadLetterOutbox {
  /** The oldest records not settled yet, at most `max`. */
  deadLettered(max: number): Promise<DeadLetterRecord[]>;
  settled(ids: readonly number[]): Promise<void>;
}

export function hasDeadLetterOutbox(queue: MessageQueue): queue is MessageQueue & DeadLetterOutbox {
  return typeof (queue as Partial<DeadLetterOutbox>).deadLettered === 'function';
}

/**
 * Every message on a queue, in flight and delayed ones included: how the job reconciler tells a job that
 * has a live message from one that lost it. The embedded queue can; SQS cannot list a queue.
 */
export interface QueueScan {
  scan(queue: string): Promise<{ body: string; receiveCount: number }[]>;
}

export function canScan(queue: MessageQueue): queue is MessageQueue & QueueScan {
  return typeof (queue as Partial<QueueScan>).scan === 'function';
}
