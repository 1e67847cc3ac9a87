import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { FunctionRuntime } from '../../src/runtime/function-runtime.ts';
import { createSlotReservations, FunctionBusyError } from '../../src/runtime/slot-reservations.ts';

/**
 * A function runtime of `size` slots for queue-consumer tests: each event sleeps `ms`, then records the
 * bodies it ran (`ran`) and their receive counts (`counts`). Like the worker pool, it refuses
 * (`FunctionBusyError`) an event beyond its size, and the first `refuseFirst` events. `afterGrant` runs when
 * an acquire is granted (with the acquire's signal); `beforeReturn` before an event's answer.
 */
export function slotRuntime(
  size: number,
  ms: number,
  options: {
    refuseFirst?: number;
    afterGrant?(signal?: AbortSignal): void;
    beforeReturn?(): Promise<void>;
  } = {},
) {
  let active = 0;
  let refusals = options.refuseFirst ?? 0;
  let refused = 0;
  const ran: string[] = [];
  const counts: number[] = [];
  const reservations = createSlotReservations({
    name: 'test',
    unused: () => size - active,
    run: async (event: SQSEvent): Promise<SQSBatchResponse> => {
      if (active >= size || refusals > 0) {
        refusals--;
        refused++;
        throw new FunctionBusyError('test');
      }
      active++;
      try {
        await new Promise((r) => setTimeout(r, ms));
        await options.beforeReturn?.();
        for (const r of event.Records) {
          ran.push(r.body);
          counts.push(Number(r.attributes.ApproximateReceiveCount));
        }
        return { batchItemFailures: [] };
      } finally {
        active--;
        reservations.changed();
      }
    },
  });
  const runtime: FunctionRuntime = {
    name: 'test',
    acquire: async (o) => {
      const lease = await reservations.acquire(o);
      options.afterGrant?.(o.signal);
      return lease;
    },
    whileWaiting: (g) => reservations.whileWaiting(g),
    invoke: (event) => reservations.acquire({ max: 1 }).then((lease) => lease.invoke(event)),
    close: async () => reservations.close(),
  };
  return { runtime, ran, counts, refused: () => refused, free: () => reservations.free() };
}

/** Waits until `probe` holds, checking every 10 ms; throws naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
