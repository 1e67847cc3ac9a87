export interface StopOnSignalsOptions {
  /** The whole stop, drain and cleanup, in ms (`SILOPOOL_SHUTDOWN_GRACE_SEC`); past it the process exits. */
  graceMs: number;
  /** Stops the server, giving running jobs until `drainMs` from now to finish. */
  stop(drainMs: number): Promise<void>;
  /** One line per step of the stop: the signal, a forced or failed stop, and `Stopped …` once it is done. */
  log(message: string): void;
}

/** Signals that arrive again within this time are the same stop delivered twice, not a second request. */
const SAME_REQUEST_MS = 2000;

/**
 * Stops the server on SIGTERM and SIGINT however they arrive: to this process, to its process group
 * (Ctrl+C in a terminal, `kill -TERM -PGID`, a container runtime), or forwarded by `npm start`. A group
 * signal plus npm's forwarding deliver one request twice within milliseconds, so a repeat within 2 s is
 * ignored; a later one (a second Ctrl+C) exits at once. The stop is bounded either way: running jobs get
 * the grace less a cleanup reserve (a fifth, at most 5 s), and the process exits at the grace whatever
 * still hangs. A job cut short is not lost: its message was never deleted, so it is delivered again.
 */
export function stopOnSignals(options: StopOnSignalsOptions): void {
  let firstAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < SAME_REQUEST_MS) return;
      options.log(`${signal} again: stopping now; running jobs are delivered again after the next start.`);
      process.exit(1);
    }
    firstAt = Date.now();
    const drainMs = options.graceMs - Math.min(5000, options.graceMs / 5);
    options.log(`${signal}: stopping; running jobs have ${Math.round(drainMs / 1000)} s to finish.`);
    setTimeout(() => {
      options.log('The stop took longer than SILOPOOL_SHUTDOWN_GRACE_SEC: exiting.');
      process.exit(1);
    }, options.graceMs);
    options.stop(drainMs).then(
      () => {
        // The last line an operator (or a supervisor's log) sees of a clean stop: without it, a stop that
        // drained and exited 0 read the same as one killed mid-drain.
        options.log(
          `Stopped after ${signal} in ${((Date.now() - firstAt!) / 1000).toFixed(1)} s: jobs drained, stores closed, DATA_DIR released.`,
        );
        process.exit(0);
      },
      (error: unknown) => {
        options.log(`The stop failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
