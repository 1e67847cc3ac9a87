import { describe, expect, it, vi } from 'vitest';
import { createSpareProcesses, type SpareProcesses } from '../../src/runtime/spare-processes.ts';
import { gone } from './process-group-helpers.ts';
import { forkStandIn, setStandIn, standInForks, writeStandIn } from './stand-in.ts';
import { standInRuntime } from './stand-in-runtime.ts';

// A dedicated function process that hangs before it is ready (release code stuck at load, a store that does
// not open). A spare pool stops one that does not load within its deadline, but only while it holds it: a
// spare taken while still loading, or bound and then silent, had no start deadline, and neither had a fork.
// The events of its function waited for it until their timeout; a provisioned function waited for good.
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);
/** Forked (forkPrebuilt mocked): it never says `ready`. */
setStandIn(`setInterval(() => undefined, 1000);`);

const silent = writeStandIn(`setInterval(() => undefined, 1000);`, 'silent.cjs');
/** It loads (says `spare`) at once, then never answers its `bind` with `ready`. */
const deafToBind = writeStandIn(
  `process.send({ type: 'spare' }); setInterval(() => undefined, 1000);`,
  'deaf-to-bind.cjs',
);

/** A pool of spares running `script`, with the pool's own load deadline (60 s) left as it is. */
function sparesOf(script: string): { spares: SpareProcesses; pids: (number | undefined)[] } {
  const pids: (number | undefined)[] = [];
  const spares = createSpareProcesses({
    memoryMb: 128,
    fork: () => {
      const proc = forkStandIn(script);
      pids.push(proc.pid);
      return proc;
    },
  });
  return { spares, pids };
}

const START_TIMEOUT_MS = 300;
const missed = /was not ready within 0.3 s; killed/;

describe('a dedicated function process not ready within its start deadline', () => {
  it('a spare taken while it still loads, that never loads: killed at the deadline, the event fails (not at its timeout)', async () => {
    const { spares, pids } = sparesOf(silent);
    const errors: unknown[] = [];
    const fn = standInRuntime({ spares, startTimeoutMs: START_TIMEOUT_MS, onError: (e) => errors.push(e) });
    try {
      spares.keep(1);
      await expect(fn.invoke({ Records: [] })).rejects.toThrow(missed);
      expect(fn.info()).toMatchObject({ startedFrom: 'spare', state: 'cold' });
      await vi.waitFor(() => expect(gone(pids[0]!)).toBe(true), { timeout: 2000 });
      // The event's own timeout (10 s) never came into it.
      expect(errors.map(String).filter((e) => /timed out/.test(e))).toEqual([]);
    } finally {
      await spares.close();
    }
  }, 30_000);

  it('a loaded spare taken and sent its tenant, that never says ready: killed at the deadline, the event fails', async () => {
    const { spares, pids } = sparesOf(deafToBind);
    const fn = standInRuntime({ spares, startTimeoutMs: START_TIMEOUT_MS });
    try {
      spares.keep(1);
      await vi.waitFor(() => expect(spares.size().loaded).toBe(1), { timeout: 10_000 });
      await expect(fn.invoke({ Records: [] })).rejects.toThrow(missed);
      expect(fn.info().startedFrom).toBe('spare');
      await vi.waitFor(() => expect(gone(pids[0]!)).toBe(true), { timeout: 2000 });
    } finally {
      await spares.close();
    }
  }, 30_000);

  it('a fork of its own that never says ready: the same deadline', async () => {
    const fn = standInRuntime({ startTimeoutMs: START_TIMEOUT_MS });
    await expect(fn.invoke({ Records: [] })).rejects.toThrow(missed);
    expect(fn.info()).toMatchObject({ startedFrom: 'fork', state: 'cold' });
    const [first] = standInForks.slice(-1);
    await vi.waitFor(() => expect(gone(first!.proc.pid!)).toBe(true), { timeout: 2000 });
  }, 30_000);

  it('provisioned: killed at the deadline and started again after a wait, as any failed start (it waited for good)', async () => {
    const before = standInForks.length;
    const errors: unknown[] = [];
    standInRuntime({
      settings: { provisionedConcurrency: 1 },
      startTimeoutMs: START_TIMEOUT_MS,
      onError: (e) => errors.push(e),
    });
    // Forked at once, killed at 0.3 s, forked again 1 s later.
    await vi.waitFor(() => expect(standInForks.length - before).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    await vi.waitFor(() => expect(gone(standInForks[before]!.proc.pid!)).toBe(true), { timeout: 2000 });
    expect(String(errors[0])).toMatch(missed);
  }, 30_000);
});
