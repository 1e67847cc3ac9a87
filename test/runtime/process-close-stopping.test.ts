import { describe, expect, it, vi } from 'vitest';
import { gone } from './process-group-helpers.ts';
import { setStandIn, standInForks } from './stand-in.ts';
import { standInRuntime } from './stand-in-runtime.ts';

// A stand-in for a function process running hostile release code: it answers its event, then ignores
// SIGTERM and the host's channel closing, and would stay for good.
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);
setStandIn(
  `process.on('SIGTERM', () => undefined);
   process.on('disconnect', () => undefined);
   setInterval(() => undefined, 1000);
   process.on('message', (m) => {
     if (m.type === 'invoke') process.send({ type: 'result', id: m.id, response: { batchItemFailures: [] } });
   });
   process.send({ type: 'ready' });`,
);

describe('closing a dedicated function', () => {
  it('ends a process it idle-stopped that ignores SIGTERM, not only its current one', async () => {
    const runtime = standInRuntime({ settings: { idleTimeoutSec: 0.05 } });
    await runtime.invoke({ Records: [] });
    const pid = standInForks[0]!.proc.pid as number;
    // Idle-stopped (SIGTERM, ignored): the host no longer counts it as its process.
    await vi.waitFor(() => expect(runtime.info().state).toBe('cold'), { timeout: 5000 });
    expect(gone(pid)).toBe(false);
    // The server stops at once: its 5 s grace timer is unref'd and would never fire.
    await runtime.close();
    await vi.waitFor(() => expect(gone(pid)).toBe(true), { timeout: 1000 });
  }, 20_000);
});
