import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { JobRecord } from '../core/job.ts';

/** Something that runs a function on SQS events: a pool of worker threads or one child process. */
export interface FunctionRuntime {
  readonly name: string;
  /** How many more events it can take now. */
  freeSlots(): number;
  invoke(event: SQSEvent): Promise<SQSBatchResponse>;
  /** Resolves when a slot may have freed up. */
  whenFree(): Promise<void>;
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
