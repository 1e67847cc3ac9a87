import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SilopoolError } from '../core/errors.ts';

/**
 * Thrown by a runtime asked to run an event it has no slot for. The event never started, so the message
 * it carries must go back to its queue without the delivery counting (see queue-consumer.ts).
 */
export class FunctionBusyError extends SilopoolError {
  constructor(name: string) {
    super('function_busy', 503, `The function ${name} has no free slot; the event was not started.`);
  }
}

export interface InvokeOptions {
  /**
   * Milliseconds the event may run, from when its thread starts it; a promise when the limit is still being
   * looked up (it then counts from the start too). Past it the thread is ended and replaced, and the call
   * fails with `FunctionTimeoutError` once the thread is gone. Runtimes with their own timeout ignore it.
   */
  timeLimitMs?: number | Promise<number | undefined>;
}

/**
 * The event ran past its time limit: its thread was ended (and replaced) before this was thrown, so nothing
 * of the run writes any more. Model runs are deterministic, so running it again would time out again.
 */
export class FunctionTimeoutError extends SilopoolError {
  readonly limitMs: number;
  constructor(name: string, limitMs: number) {
    super(
      'timeout',
      504,
      `The function ${name} ran past its time limit of ${limitMs / 1000} s; its thread was stopped.`,
    );
    this.limitMs = limitMs;
  }
}

/** How long a waiter without a backlog lets another consumer's long poll keep a slot. */
const IDLE_HANDOVER_MS = 100;

/** Slots reserved for one receive: run an event on each, give back the rest. */
export interface SlotLease {
  /** Slots still reserved; 0 when the runtime is closed or the wait was aborted. */
  readonly held: number;
  /** Runs an event on one of the reserved slots. */
  invoke(event: SQSEvent, options?: InvokeOptions): Promise<SQSBatchResponse>;
  /** Gives back every slot not used yet. */
  release(): void;
}

export interface AcquireOptions {
  /** Slots wanted; the lease holds between 1 and `max` (0 only when closed or aborted). */
  max: number;
  /**
   * The caller's queue has a backlog (its last receive came back full): while it waits, consumers holding
   * slots only to long-poll an empty queue are asked to give them back (see `whileWaiting`).
   */
  hungry?: boolean;
  signal?: AbortSignal;
}

/**
 * The reservations of one runtime (a worker pool, a dedicated function), shared by every consumer feeding
 * it. A consumer reserves before it receives, so it never receives more than can start at once; reading
 * free slots and then receiving let two consumers count the same free slot, and the loser's delivery was
 * lost without running. Waiters are served first come, first served.
 */
export function createSlotReservations(options: {
  name: string;
  /** Slots not running an event now; a runtime takes its slot synchronously inside `run`. */
  unused(): number;
  run(event: SQSEvent, options?: InvokeOptions): Promise<SQSBatchResponse>;
}) {
  let reserved = 0;
  let closed = false;
  const waiters: { max: number; hungry: boolean; grant(count: number): void }[] = [];
  const longPolls = new Set<() => void>();
  const free = () => (closed ? 0 : Math.max(0, options.unused() - reserved));

  function lease(count: number): SlotLease {
    let held = count;
    reserved += count;
    return {
      get held() {
        return held;
      },
      invoke(event, invokeOptions) {
        if (held === 0) return Promise.reject(new FunctionBusyError(options.name));
        held--;
        reserved--;
        // `run` takes the slot before its first await, so free() never counts this one twice.
        return options.run(event, invokeOptions);
      },
      release() {
        reserved -= held;
        held = 0;
        changed();
      },
    };
  }

  /** Call when a slot may have freed up: serves waiters in order. */
  function changed(): void {
    while (waiters.length > 0 && free() > 0) {
      const waiter = waiters.shift()!;
      waiter.grant(Math.min(free(), waiter.max));
    }
  }

  return {
    /** Events that may start now without a reservation (direct invokes). */
    free,
    changed,
    /** Reserves slots now if any are free and nobody waits before the caller, else when they free up. */
    acquire(acquire: AcquireOptions): Promise<SlotLease> {
      const max = Math.max(1, Math.trunc(acquire.max));
      if (closed || acquire.signal?.aborted) return Promise.resolve(lease(0));
      if (waiters.length === 0 && free() > 0) return Promise.resolve(lease(Math.min(free(), max)));
      return new Promise((resolve) => {
        const onAbort = () => {
          const index = waiters.indexOf(waiter);
          if (index >= 0) waiters.splice(index, 1);
          resolve(lease(0));
        };
        const waiter = {
          max,
          hungry: acquire.hungry === true,
          grant: (count: number) => {
            acquire.signal?.removeEventListener('abort', onAbort);
            resolve(lease(count));
          },
        };
        waiters.push(waiter);
        acquire.signal?.addEventListener('abort', onAbort, { once: true });
        if (acquire.hungry) for (const giveBack of [...longPolls]) giveBack();
        else {
          // A consumer whose queue looked empty may have a message by now: a slot held only to long-poll
          // another empty queue is handed over after a short while, so a new job of one model does not wait
          // for another model's long poll to end. The delay bounds the hand-over between idle consumers.
          setTimeout(() => {
            if (waiters.includes(waiter)) for (const giveBack of [...longPolls]) giveBack();
          }, IDLE_HANDOVER_MS).unref();
        }
      });
    },
    /**
     * Marks the caller as long-polling on slots it holds: `giveBack` is called when a consumer with a
     * backlog waits for a slot. Returns the function that ends the mark.
     */
    whileWaiting(giveBack: () => void): () => void {
      // Someone with a backlog is already waiting: claim once, without waiting, and give the slots back.
      if (waiters.some((w) => w.hungry)) {
        giveBack();
        return () => undefined;
      }
      longPolls.add(giveBack);
      return () => longPolls.delete(giveBack);
    },
    close(): void {
      closed = true;
      for (const waiter of waiters.splice(0)) waiter.grant(0);
    },
  };
}

export type SlotReservations = ReturnType<typeof createSlotReservations>;
