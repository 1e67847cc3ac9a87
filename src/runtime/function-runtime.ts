import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { JobRecord } from '../core/job.ts';
import type { AcquireOptions, InvokeOptions, SlotLease } from './slot-reservations.ts';

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

/** What a function process or thread reports back besides its result. */
export type FunctionReport =
  | { type: 'result'; id: number; response: SQSBatchResponse }
  | { type: 'error'; id: number; message: string }
  | { type: 'job'; job: JobRecord }
  | { type: 'compute'; id: number; model: string; input: unknown; parts: unknown[] }
  | { type: 'ready' };

export type FunctionRequest =
  | { type: 'invoke'; id: number; event: SQSEvent }
  | { type: 'computed'; id: number; results?: unknown[]; error?: string };

/** How a function thread or process builds its handler's dependencies: a module and its options. */
export interface HandlerFactorySpec {
  /** URL of a module exporting `createHandlerDeps(options)`. */
  module: string;
  options: Record<string, unknown>;
}
