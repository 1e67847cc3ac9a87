import { describe, expect, it, vi } from 'vitest';
import {
  type DrivingLease,
  driveUnderLease,
  drivingLease,
  LeaseLostError,
} from '../../src/control/operation-lease.ts';
import { newOperation } from '../../src/control/operations.ts';
import { ConditionFailedError } from '../../src/core/errors.ts';
import type { Operation, OperationStore } from '../../src/ports/operation-store.ts';

/** An operation store in memory whose next `get` can be held until the test lets it go. */
function heldStore(op: Operation) {
  let current = op;
  let hold: Promise<void> | undefined;
  const store: OperationStore = {
    create: async () => undefined,
    async get() {
      const gate = hold;
      hold = undefined;
      const seen = current;
      if (gate) await gate;
      return seen;
    },
    async update(next, expected) {
      if (current.version !== expected) throw new ConditionFailedError('changed');
      current = { ...next, version: expected + 1 };
      return current;
    },
    listRunning: async () => [current],
    listByTenant: async () => [current],
    deleteByTenant: async () => undefined,
  };
  return {
    store,
    current: () => current,
    /** The next `get` waits until the returned function is called. */
    holdNextGet(): () => void {
      let open: () => void = () => undefined;
      hold = new Promise<void>((resolve) => {
        open = resolve;
      });
      return open;
    },
  };
}

describe('drivingLease.release', () => {
  it('is not undone by a renewal that was in flight when the driver stopped', async () => {
    const op = newOperation('rollout', '_platform' as never, ['a'], {});
    const s = heldStore(op);
    const lease = drivingLease(s.store, op.id, 'A', 60, () => undefined);
    expect(await lease.claim()).toBe('held');
    // A renewal starts (every 20 ms) and its read is held: the renewal is in flight.
    const open = s.holdNextGet();
    const stopRenewing = lease.keep();
    await new Promise((r) => setTimeout(r, 35));
    stopRenewing();
    const released = lease.release();
    await new Promise((r) => setTimeout(r, 5));
    open();
    await released;
    await new Promise((r) => setTimeout(r, 20));
    // Let go: another driver may take the operation over now, not after the renewal's expiry.
    expect(Date.parse(s.current().params.driverUntil ?? '')).toBeLessThanOrEqual(Date.now());
    expect(() => lease.check()).toThrow();
  });
});

describe('driveUnderLease', () => {
  it('does not halt (failed) for a drive that failed after its lease ran out: it stands by', async () => {
    let claims = 0;
    const lease: DrivingLease = {
      claim: async () => (++claims === 1 ? 'held' : 'ended'),
      // The drive froze past the lease's expiry: another process holds the operation now.
      check: () => {
        throw new LeaseLostError('op_1');
      },
      keep: () => () => undefined,
      release: async () => undefined,
    };
    const failed = vi.fn(async () => true);
    const leaseLost = vi.fn();
    await driveUnderLease({
      lease,
      leaseMs: 50,
      retry: { baseMs: 1, maxMs: 1 },
      wait: async () => true,
      stopped: () => false,
      drive: async () => {
        throw new Error('a permanent failure (the release is gone)');
      },
      failed,
      paused: () => undefined,
      leaseLost,
    });
    expect(failed).not.toHaveBeenCalled();
    expect(leaseLost).toHaveBeenCalledOnce();
  });
});
