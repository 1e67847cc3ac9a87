import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DEFAULT_FUNCTION_SETTINGS } from '../core/tenant.ts';
import type { HandlerDeps } from '../functions/model-handler.ts';
import type { MessageQueue, RunningLimit } from '../ports/message-queue.ts';
import type { JobNotice } from './job-events.ts';
import type { PrebuiltEntry } from './prebuilt.ts';
import type { AcquireOptions, InvokeOptions, SlotLease } from './slot-reservations.ts';

/**
 * The memory (MB) of the embedded shared functions, recorded on the jobs their threads run and billed: the
 * threads live in the server's process and have no memory setting of their own, so they count as the
 * default function size (a dedicated tenant's default, docs/billing.md "Compute").
 */
export const SHARED_POOL_MEMORY_MB = DEFAULT_FUNCTION_SETTINGS.memoryMb;

/** Something that runs a function on SQS events: a pool of worker threads or one child process. */
export interface FunctionRuntime {
  readonly name: string;
  /**
   * Reserves slots for a receive, shared fairly with every other consumer of this runtime: a consumer
   * receives at most what its lease holds, so every message it receives can start.
   */
  acquire(options: AcquireOptions): Promise<SlotLease>;
  /** While a consumer long-polls on slots it holds: `giveBack` is called when another one needs them. */
  whileWaiting(giveBack: () => void): () => void;
  /** Runs an event on a slot nobody reserved; throws FunctionBusyError (nothing started) when none is free. */
  invoke(event: SQSEvent, options?: InvokeOptions): Promise<SQSBatchResponse>;
  close(): Promise<void>;
}

/** A message a function thread claimed and is running, as it tells the host (for time limits and crashes). */
export interface HeldMessage {
  queue: string;
  receiptHandle: string;
  body: string;
  groupId?: string;
  receiveCount: number;
  /**
   * Its place in its event (a batch runs its records one after another), from 0; absent: first. A message
   * past its time limit whose job never started goes back uncounted only when it was not first: it may have
   * waited its turn behind an earlier record. Any other never-started one hung on its own and is counted.
   */
  batchIndex?: number;
}

/**
 * What a function thread reports to its host. It claims, runs and deletes its messages itself. A function
 * thread posts them in batches (`FunctionReport[]`, see thread-reports.ts); a dedicated process one by one.
 */
export type FunctionReport =
  | { type: 'ready' }
  | { type: 'started'; message: HeldMessage }
  | { type: 'finished'; queue: string; receiptHandle: string }
  /**
   * The thread settles this message next: the host extends it no more, and answers `released` to `ack` once
   * its extension in flight is abandoned (asked only for a job that ran long enough to have one).
   */
  | { type: 'settling'; receiptHandle: string; ack?: number }
  | { type: 'job'; job: JobNotice }
  | { type: 'compute'; id: number; model: string; input: unknown; parts: unknown[] }
  /** The job no longer wants compute `id` (another of its parts failed): its parts are dropped or ended. */
  | { type: 'cancel-compute'; id: number }
  | { type: 'error'; message: string }
  /** The answer to a `ping`: the thread's event loop runs. */
  | { type: 'alive' }
  | { type: 'stopped' };

export type FunctionRequest =
  /** Groups (tenants) at their running limit, for queues that cannot count it in the claim (SQS). */
  | { type: 'blocked'; groups: string[] }
  /** The queues this thread consumes besides its model queues (dedicated lanes on the pool). */
  | { type: 'queues'; names: string[] }
  /** Receive no more; let running events finish, then report `stopped`. */
  | { type: 'stop' }
  | { type: 'computed'; id: number; results?: unknown[]; error?: string }
  /** The answer to a `settling` report's `ack`. */
  | { type: 'released'; id: number }
  /** Answer `alive` (the host's liveness check of a thread that runs no job it knows of). */
  | { type: 'ping' };

/** How a function thread consumes its queues (given when it starts). */
export interface FunctionThreadSettings {
  factory: HandlerFactorySpec;
  /** Cores the compute pool has for big runs (1: runs stay whole). */
  cores: number;
  /** Events this thread runs at once. */
  perThread: number;
  batchSize: number;
  visibilityTimeoutSec: number;
  /** The shared model queues. */
  queues: string[];
  /** Further queues to consume (dedicated lanes on the pool). */
  extraQueues: string[];
  /** Running limits counted in the claim, on queues that can (see `RunningLimit`). */
  runningLimit?: RunningLimit;
}

/** What a function thread's factory builds: the handler's dependencies on the thread's own connections. */
export type FunctionThreadDeps = Omit<HandlerDeps, 'queue'> & { queue: MessageQueue };

/** How a function thread or process builds its handler's dependencies: a module and its options. */
export interface HandlerFactorySpec {
  /** URL of a module exporting `createHandlerDeps(options)`, resolving to `FunctionThreadDeps`. */
  module: string;
  /**
   * The prebuilt entry (src/runtime/prebuilt.ts) that runs a function thread with this same factory built
   * in: started instead of `module` through tsx where its bundle is fresh or can be built.
   */
  prebuilt?: PrebuiltEntry;
  options: Record<string, unknown>;
}
