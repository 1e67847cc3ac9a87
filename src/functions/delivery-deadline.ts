/**
 * A delivery that had not settled by its deadline: the place it held (a slot of its key, or one of the
 * dispatcher's messages in flight) was freed and its message left to be retried. Whatever it was
 * awaiting (a store or queue call that never answers) is still pending; its outcome is dropped.
 */
export class DeliveryDeadlineError extends Error {
  readonly code = 'delivery_deadline';
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms; its place is freed and the message will be retried`);
    this.name = 'DeliveryDeadlineError';
  }
}

/**
 * Settles as `work` does, or rejects with `DeliveryDeadlineError` once `deadline` (epoch ms, `Date.now`
 * clock) has passed, whichever comes first. A rejection of `work` after that goes to `onLate` if given;
 * it is never left unhandled.
 */
export async function withinDeadline<T>(
  work: Promise<T>,
  deadline: number,
  what: string,
  onLate?: (error: unknown) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const ms = Math.max(0, deadline - Date.now());
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          expired = true;
          reject(new DeliveryDeadlineError(what, ms));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (expired && onLate) work.catch(onLate);
  }
}
