import { describe, expect, it, vi } from 'vitest';
import { forkPlan, setStandIn } from './stand-in.ts';
import { standInRuntime } from './stand-in-runtime.ts';

// A dedicated function whose fork fails: the machine is out of processes (`fork` starts none: Node emits
// `error` and never `exit`) or out of memory (`fork` throws). A stand-in answers events when a fork works.
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);
setStandIn(
  `process.on('message', (m) => {
     if (m.type === 'invoke') process.send({ type: 'result', id: m.id, response: { batchItemFailures: [] } });
   });
   process.on('disconnect', () => process.exit(0));
   process.send({ type: 'ready' });`,
);

describe('a dedicated function whose fork fails', () => {
  it('fails that event only: the next event forks again (it failed every event until the idle timeout)', async () => {
    const errors: unknown[] = [];
    const fn = standInRuntime({ onError: (e) => errors.push(e) });
    forkPlan.push('no-process', 'throws');
    await expect(fn.invoke({ Records: [] })).rejects.toThrow(/started no process|ENOENT/);
    expect(fn.info().state).toBe('cold');
    await expect(fn.invoke({ Records: [] })).rejects.toThrow('spawn ENOMEM');
    await expect(fn.invoke({ Records: [] })).resolves.toEqual({ batchItemFailures: [] });
    expect(fn.info()).toMatchObject({ state: 'warm', coldStarts: 1 });
  }, 20_000);

  it('provisioned: started again after a wait, never a throw out of a timer (one crashed the server)', async () => {
    const errors: unknown[] = [];
    forkPlan.push('throws', 'no-process');
    const fn = standInRuntime({ settings: { provisionedConcurrency: 1 }, onError: (e) => errors.push(e) });
    // Tried at once (a throw), after 1 s (no process), after 2 s more: warm.
    await vi.waitFor(() => expect(fn.info().state).toBe('warm'), { timeout: 8000, interval: 100 });
    expect(errors.map(String)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('spawn ENOMEM'),
        expect.stringMatching(/started no process|ENOENT/),
      ]),
    );
  }, 20_000);
});
