/**
 * A delivery that had not settled by its deadline: the place it held (a slot of its key, or one of the
 * dispatcher's messages in flight) was freed and its message left to be retried. Its outgoing call (the
 * webhook POST, the push, the SMTP session) is aborted through the signal it was given; a store or queue
 * call that takes no signal is still pending, and its outcome is dropped.
 */
export class DeliveryDeadlineError extends Error {
  readonly code = 'delivery_deadline';
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms; its place is freed and the message will be retried`);
    this.name = 'DeliveryDeadlineError';
  }
}

/**
 * Runs `work` with a signal aborted (reason: the `DeliveryDeadlineError`) once `deadline` (epoch ms, `Date.now`
 * clock) has passed; settles as `work` does, or rejects with that error at the deadline, whichever comes first.
 * Without the abort an abandoned call ran on after its slot was freed (a POST to a receiver that never
 * answers, beside its own retry). A rejection of `work` after that goes to `onLate` if given; it is never
 * left unhandled. `expired` makes the deadline's error (default: a `DeliveryDeadlineError`).
 */
export async function withinDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  deadline: number,
  what: string,
  onLate?: (error: unknown) => void,
  expired: (what: string, ms: number) => Error = (w, ms) => new DeliveryDeadlineError(w, ms),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const ms = Math.max(0, deadline - Date.now());
  const abort = new AbortController();
  const running = work(abort.signal);
  try {
    return await Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          late = true;
          const error = expired(what, ms);
          abort.abort(error);
          reject(error);
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (late && onLate) running.catch(onLate);
  }
}
