/**
 * How long a value read in one turn of the event loop is trusted when the turn goes on. A turn can be long:
 * a function thread whose jobs only await settled promises (synchronous SQLite, blocking object writes, a
 * synchronous model run) runs one job after another without reaching `setImmediate` (200 jobs in one turn
 * with such a handler, session 15), and would keep what it read first for all of them.
 */
export const LONGEST_TURN_MS = 100;

/**
 * A value read at most once per turn of this thread's event loop, for reads every request or job makes
 * (a stat of the release pointer, the tenants table's change counter): what one turn handles arrived
 * before the turn began, so a change committed elsewhere is seen by everything that arrives after it. It
 * is forgotten at the turn's end (`setImmediate`), after `LONGEST_TURN_MS` of a longer turn, and at once
 * by `forget` (after this thread's own write).
 */
export class TurnMemo<T> {
  private value: T | undefined;
  /** `performance.now()`: monotonic, so a wall clock stepped back cannot stretch the 100 ms. */
  private readAtMs = 0;
  private expiring = false;

  /** The value remembered in this turn, or undefined: read it, then `remember` it. */
  get(): T | undefined {
    if (this.value === undefined || performance.now() - this.readAtMs >= LONGEST_TURN_MS) return undefined;
    return this.value;
  }

  /** Keeps `value` for the rest of this turn (at most `LONGEST_TURN_MS`); returns it. */
  remember(value: T): T {
    this.value = value;
    this.readAtMs = performance.now();
    if (!this.expiring) {
      this.expiring = true;
      setImmediate(() => {
        this.expiring = false;
        this.value = undefined;
      });
    }
    return value;
  }

  /** Forgets the value now: this thread changed what it was read from. */
  forget(): void {
    this.value = undefined;
  }
}
