import { type BackoffPolicy, backoffMs } from '../core/backoff.ts';
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
  /**
   * Lets the lease go (expired at once) if this process holds it, so another driver takes over now; waits
   * for a renewal of `keep` in flight first. Stop `keep`'s renewals before.
   */
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
  /** The renewal `keep` started last: `release` waits for it (finishing after, it took the lease back). */
  let renewal: Promise<unknown> | undefined;

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
          renewal = claim().catch(onRenewError);
        },
        Math.max(1, Math.floor(leaseMs / 3)),
      );
      timer.unref();
      return () => clearInterval(timer);
    },
    async release() {
      // A renewal in flight when the driver stopped would write the lease back after this let it go.
      await renewal;
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

/** What `driveUnderLease` needs from its runner; every callback is the runner's own (logging, halting). */
export interface LeaseDriving {
  lease: DrivingLease;
  /** The lease's length, ms: the longest a stand-by waits before claiming again. */
  leaseMs: number;
  /** Backoff between drives that failed (core/backoff.ts). */
  retry: BackoffPolicy;
  /** Waits `ms`; answers false when the runner stopped meanwhile (a stop cuts the wait short). */
  wait(ms: number): Promise<boolean>;
  stopped(): boolean;
  /** One drive of the operation to its end, under the lease (checking it before each step). */
  drive(): Promise<void>;
  /**
   * A drive threw something other than LeaseLostError while the runner runs and still holds the lease (by
   * `check`; one that lost it stands by instead): answers true when the failure
   * ended the operation (it was halted), false to drive again after `retryInMs`.
   */
  failed(error: unknown, retryInMs: number): Promise<boolean>;
  /** The runner stopped: the operation stays `running` and resumes where it stopped. */
  paused(): void;
  /** Another process took the lease over (this one froze past its expiry): this one stands by. */
  leaseLost(): void;
}

/**
 * Drives one operation while this process holds its lease (an upgrade, a placement move): claims the lease,
 * stands by while another process holds it (until its expiry), drives it again after a backoff when a drive
 * fails, and lets the lease go at the end (a stop, the operation's end), so the next driver need not wait it
 * out. Every step of a drive is persisted before it acts, so driving again resumes where it stopped.
 * Rejects only with what `failed` throws.
 */
export async function driveUnderLease(o: LeaseDriving): Promise<void> {
  try {
    for (let attempt = 0; ; attempt++) {
      let renewing: (() => void) | undefined;
      try {
        const claimed = await o.lease.claim();
        if (claimed === 'ended') return;
        if (claimed !== 'held') {
          // Another process drives it: stand by until its hold runs out (it renews it while it lives).
          if (!(await o.wait(Math.min(o.leaseMs, Math.max(10, claimed - Date.now() + 10)))))
            return o.paused();
          attempt = -1;
          continue;
        }
        renewing = o.lease.keep();
        return await o.drive();
      } catch (thrown) {
        if (o.stopped()) return o.paused();
        // A drive that failed after its lease ran out (it froze past the expiry) is not this process's to
        // halt or retry: another driver holds the operation, and `failed` may halt it (roll it back) under it.
        let error = thrown;
        if (renewing && !(error instanceof LeaseLostError)) {
          try {
            o.lease.check();
          } catch (lost) {
            error = lost;
          }
        }
        if (error instanceof LeaseLostError) {
          o.leaseLost();
          attempt = -1;
          continue;
        }
        const retryInMs = backoffMs(attempt, o.retry);
        if (await o.failed(error, retryInMs)) return;
        if (!(await o.wait(retryInMs))) return o.paused();
      } finally {
        renewing?.();
      }
    }
  } finally {
    await o.lease.release().catch(() => undefined);
  }
}

/**
 * `operations` as a driver holding `lease` may use it: every write (create, update, deleteByTenant) first
 * checks the lease (LeaseLostError when another process holds it now); reads pass. A driver writes its
 * operation's record at each step boundary (setStep before it acts), so a process whose lease ran out
 * (frozen past its expiry) stops at its next step instead of driving on beside the new holder. The lease
 * itself must be kept through the unguarded store.
 */
export function guardedByLease(
  operations: OperationStore,
  lease: Pick<DrivingLease, 'check'>,
): OperationStore {
  return {
    get: (id) => operations.get(id),
    listRunning: () => operations.listRunning(),
    listByTenant: (tenantId) => operations.listByTenant(tenantId),
    create: async (operation) => {
      lease.check();
      return operations.create(operation);
    },
    update: async (next, expectedVersion) => {
      lease.check();
      return operations.update(next, expectedVersion);
    },
    deleteByTenant: async (tenantId, except) => {
      lease.check();
      return operations.deleteByTenant(tenantId, except);
    },
  };
}
