import type { OperationStore } from '../ports/operation-store.ts';
import { changeOperation } from './operations.ts';

/** Thrown at a driver's next check once another driver holds its operation (its own lease ran out). */
export class LeaseLostError extends Error {
  constructor(id: string) {
    super(`Another process drives the operation ${id} now.`);
    this.name = 'LeaseLostError';
  }
}

/**
 * The right to drive one operation (an upgrade, a placement move), held in its record (`params.driver`: the
 * holder's id, `params.driverUntil`: ISO 8601 expiry) and taken by compare-and-set: only the holder drives,
 * and a lease left to expire (its process died or froze) is taken over. Two processes may be told to drive
 * operations (an API with SILOPOOL_MOVE_RUNNER=here beside the control function); without it both drove
 * the same steps at once (an upgrade's waves, a move's copy and cleanup).
 */
export interface DrivingLease {
  /**
   * Takes the lease, or renews it while held (its expiry `leaseMs` from now). Answers `held`, `ended` (the
   * operation is no longer running), or the time (ms since the epoch) another holder's lease runs out.
   */
  claim(): Promise<'held' | 'ended' | number>;
  /** Throws LeaseLostError unless this process holds the lease by its last claim (and it has not run out). */
  check(): void;
  /** Renews the lease every third of `leaseMs` until the returned function is called. */
  keep(): () => void;
  /** Lets the lease go (expired at once) if this process holds it, so another driver takes over now. */
  release(): Promise<void>;
}

export function drivingLease(
  operations: OperationStore,
  id: string,
  holder: string,
  leaseMs: number,
  onRenewError: (error: unknown) => void,
  sole = false,
): DrivingLease {
  /** Until when this process holds the lease by its own clock; 0 when it does not. */
  let heldUntil = 0;

  async function claim(): Promise<'held' | 'ended' | number> {
    const until = Date.now() + leaseMs;
    const op = await changeOperation(operations, id, (o) => {
      if (o.status !== 'running') return o;
      const other = o.params.driver;
      // `sole`: no other process can be driving (this one holds the data directory), so another's lease is
      // what a process that died left (a restart after a crash resumes at once, not a minute later).
      const live = !sole && Date.parse(o.params.driverUntil ?? '') > Date.now();
      if (other !== undefined && other !== holder && live) return o;
      return { ...o, params: { ...o.params, driver: holder, driverUntil: new Date(until).toISOString() } };
    });
    if (op.status !== 'running') {
      heldUntil = 0;
      return 'ended';
    }
    if (op.params.driver !== holder) {
      heldUntil = 0;
      return Date.parse(op.params.driverUntil ?? '') || Date.now();
    }
    heldUntil = until;
    return 'held';
  }

  return {
    claim,
    check() {
      if (Date.now() >= heldUntil) throw new LeaseLostError(id);
    },
    keep() {
      const timer = setInterval(
        () => {
          claim().catch(onRenewError);
        },
        Math.max(1, Math.floor(leaseMs / 3)),
      );
      timer.unref();
      return () => clearInterval(timer);
    },
    async release() {
      if (heldUntil === 0) return;
      heldUntil = 0;
      await changeOperation(operations, id, (o) =>
        o.status !== 'running' || o.params.driver !== holder
          ? o
          : { ...o, params: { ...o.params, driverUntil: new Date(0).toISOString() } },
      );
    },
  };
}
