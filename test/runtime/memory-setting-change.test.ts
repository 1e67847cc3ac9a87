import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FunctionSettings } from '../../src/core/tenant.ts';
import { standInForks as forks, killStandIns, setStandIn } from './stand-in.ts';
import { STAND_IN_SETTINGS, standInRuntime } from './stand-in-runtime.ts';

// A stand-in function process: it answers each event after `delay` ms (the event's `Records` length × 100).
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);
setStandIn(
  `process.on('message', (m) => {
     if (m.type === 'invoke')
       setTimeout(() => process.send({ type: 'result', id: m.id, response: { batchItemFailures: [] } }), m.event.Records.length * 100);
   });
   process.send({ type: 'ready' });`,
);
// Each test counts its forks from none.
afterEach(killStandIns);

const ended = (proc: ChildProcess) => proc.exitCode !== null || proc.signalCode !== null;
const base: FunctionSettings = { ...STAND_IN_SETTINGS, reservedConcurrency: 2, memoryMb: 512 };
const runtime = (settings: FunctionSettings, errors: unknown[] = []) =>
  standInRuntime({ settings, onError: (error) => errors.push(error) });
const event = (slow = 0) => ({ Records: Array.from({ length: slow }, () => ({}) as never) });

describe('a changed memory setting of a dedicated function', () => {
  it('ends the warm process (not at its idle timeout, a minute later) and the next event forks with the new setting', async () => {
    const fn = runtime(base);
    await fn.invoke(event());
    expect(forks.map((f) => f.flags)).toEqual([['--max-old-space-size=512']]);
    fn.updateSettings({ ...base, memoryMb: 1024 });
    await vi.waitFor(() => expect(ended(forks[0]!.proc)).toBe(true), { timeout: 5000 });
    expect(fn.info().state).toBe('cold');
    await fn.invoke(event());
    expect(forks.map((f) => f.flags)).toEqual([['--max-old-space-size=512'], ['--max-old-space-size=1024']]);
    // The same setting read again at the next refresh changes nothing.
    fn.updateSettings({ ...base, memoryMb: 1024 });
    await new Promise((r) => setTimeout(r, 300));
    expect(ended(forks[1]!.proc)).toBe(false);
  }, 30_000);

  it('lets an event in flight finish first', async () => {
    const fn = runtime(base);
    const running = fn.invoke(event(5));
    await vi.waitFor(() => expect(fn.info().inFlight).toBe(1), { timeout: 5000 });
    await vi.waitFor(() => expect(forks).toHaveLength(1), { timeout: 5000 });
    fn.updateSettings({ ...base, memoryMb: 256 });
    await new Promise((r) => setTimeout(r, 100));
    expect(ended(forks[0]!.proc)).toBe(false);
    await expect(running).resolves.toEqual({ batchItemFailures: [] });
    await vi.waitFor(() => expect(ended(forks[0]!.proc)).toBe(true), { timeout: 5000 });
  }, 30_000);

  it('a provisioned function is started again at once with the new setting, not counted as a failed start', async () => {
    const errors: unknown[] = [];
    const fn = runtime({ ...base, provisionedConcurrency: 1 }, errors);
    await vi.waitFor(() => expect(fn.info().state).toBe('warm'), { timeout: 5000 });
    fn.updateSettings({ ...base, provisionedConcurrency: 1, memoryMb: 2048 });
    await vi.waitFor(
      () =>
        expect(forks.map((f) => f.flags.at(-1))).toEqual([
          '--max-old-space-size=512',
          '--max-old-space-size=2048',
        ]),
      { timeout: 5000 },
    );
    await vi.waitFor(() => expect(fn.info().state).toBe('warm'), { timeout: 5000 });
    await vi.waitFor(() => expect(ended(forks[0]!.proc)).toBe(true), { timeout: 5000 });
    expect(errors.map(String)).toEqual([]);
  }, 30_000);
});
