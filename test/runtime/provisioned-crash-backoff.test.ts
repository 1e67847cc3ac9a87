import { describe, expect, it, vi } from 'vitest';
import { setStandIn, standInForks } from './stand-in.ts';
import { standInRuntime } from './stand-in-runtime.ts';

// A stand-in for a provisioned function process whose release code ends it right after `ready` (a
// module-level timer that exits, or that breaks the IPC protocol): replaced 100 ms after each exit, it was
// forked several times a second for as long as the tenant stayed provisioned.
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);
setStandIn(`process.send({ type: 'ready' }); setTimeout(() => process.exit(3), 20);`);

describe('a provisioned function whose process ends right after it is ready', () => {
  it('is started again after a growing wait (1 s, 2 s, …), not every 100 ms, and says why', async () => {
    const errors: string[] = [];
    standInRuntime({
      settings: { provisionedConcurrency: 1 },
      onError: (error) => errors.push(String(error)),
    });
    await new Promise((resolve) => setTimeout(resolve, 3500));
    // Forks at ≈ 0, 1.1 and 3.2 s; the old replacement forked ≈ 15–25 times in the same 3.5 s.
    expect(standInForks.length).toBeGreaterThanOrEqual(2);
    expect(standInForks.length).toBeLessThanOrEqual(4);
    expect(errors.some((e) => /ended \d+ ms after it was ready; started again after a wait/.test(e))).toBe(
      true,
    );
  }, 20_000);
});
