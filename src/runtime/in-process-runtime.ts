import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { FunctionRuntime } from './function-runtime.ts';
import { createSlotReservations, FunctionBusyError } from './slot-reservations.ts';

/**
 * A function run in this thread: `slots` events at once, each through `run`. What a function thread's
 * own queue consumers feed; the slots are reserved before each receive (see slot-reservations.ts).
 */
export function createInProcessRuntime(options: {
  name: string;
  slots: number;
  run(event: SQSEvent): Promise<SQSBatchResponse>;
}): FunctionRuntime {
  let active = 0;
  let closed = false;
  const reservations = createSlotReservations({
    name: options.name,
    unused: () => Math.max(0, options.slots - active),
    run: (event) => {
      if (closed) return Promise.reject(new FunctionBusyError(options.name));
      // Taken before the first await, so reservations never count this slot twice.
      active++;
      return options.run(event).finally(() => {
        active--;
        reservations.changed();
      });
    },
  });
  return {
    name: options.name,
    acquire: (acquire) => reservations.acquire(acquire),
    whileWaiting: (giveBack) => reservations.whileWaiting(giveBack),
    invoke(event) {
      if (reservations.free() === 0) return Promise.reject(new FunctionBusyError(options.name));
      return reservations.acquire({ max: 1 }).then((lease) => lease.invoke(event));
    },
    async close() {
      closed = true;
      reservations.close();
    },
  };
}
