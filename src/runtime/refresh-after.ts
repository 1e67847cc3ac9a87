/**
 * A refresh that, asked for, always reads what is there now: calls while a run is under way share one run
 * that starts after it, never the run under way, which may have read the state before the caller's change.
 * Runs never overlap, so an older read cannot land after a newer one.
 */
export function refreshAfterChange(run: () => Promise<void>): {
  refresh(): Promise<void>;
  /** Settles once no run is under way or asked for (errors are the callers'). */
  idle(): Promise<void>;
} {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    if (next) return next;
    if (running) {
      next = running
        .catch(() => undefined)
        .then(() => {
          next = undefined;
          return refresh();
        });
      return next;
    }
    running = run().finally(() => {
      running = undefined;
    });
    return running;
  };
  return {
    refresh,
    async idle() {
      while (running || next) await (next ?? running)?.catch(() => undefined);
    },
  };
}
