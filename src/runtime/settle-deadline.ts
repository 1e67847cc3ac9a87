import { withinDeadline } from '../functions/delivery-deadline.ts';

/**
 * How long settling a message after its run may take (delete it, give it back, settle a job past its time
 * limit), ms. Each is a store write or two and a queue call, milliseconds when they answer; this outlasts the
 * AWS clients' own attempts at one call (adapters/aws/client-config.ts). One that never settled held a
 * function thread's exit or a consumer's stop, and with them the server's stop, for good; abandoned at this
 * deadline, the message still comes back to its queue when its visibility timeout ends.
 */
export const RECOVERY_TIMEOUT_MS = 30_000;

/**
 * `work`'s value, or undefined once `ms` have passed or it failed; its failure (or the deadline's error,
 * naming `what`) goes to `onError`. Never rejects.
 */
export function settledWithin<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onError: (error: unknown) => void,
): Promise<T | undefined> {
  return withinDeadline(() => work, Date.now() + ms, what, onError).catch((error: unknown) => {
    onError(error);
    return undefined;
  });
}
