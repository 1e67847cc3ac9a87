import { describe, expect, it, vi } from 'vitest';
import { maxSendsInFlight } from '../../src/runtime/process-requests.ts';
import { setStandIn } from './stand-in.ts';
import { STAND_IN_SETTINGS, standInRuntime } from './stand-in-runtime.ts';

// A stand-in for a function process running hostile release code: once ready it asks its host for 5,000
// sends at once.
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);
setStandIn(
  `process.on('message', (m) => {
     if (m.type === 'invoke') process.send({ type: 'result', id: m.id, response: { batchItemFailures: [] } });
   });
   process.send({ type: 'ready' });
   for (let i = 1; i <= 5000; i++)
     process.send({ type: 'send', id: i, queue: 'webhooks', message: { body: 'x'.repeat(100) } });`,
);

describe('a function process flooding its host with sends', () => {
  it('has at most maxSendsInFlight of them in flight; the rest are refused at once, answered with an error', async () => {
    const settings = { ...STAND_IN_SETTINGS, reservedConcurrency: 2 };
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const errors: unknown[] = [];
    const runtime = standInRuntime({
      settings,
      // A queue write that takes a while, as one under load does.
      send: async () => {
        calls++;
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 50));
        inFlight--;
      },
      onError: (error) => errors.push(error),
    });
    await runtime.invoke({ Records: [] });
    await vi.waitFor(() => expect(inFlight).toBe(0), { timeout: 10_000 });
    // 64 for a reserved concurrency of 2.
    expect(most).toBeLessThanOrEqual(64);
    expect(maxSendsInFlight(settings)).toBe(64);
    expect(calls).toBeLessThan(5000);
    // Refusals are logged a few times, not 5,000.
    const refusals = errors.filter((e) => String(e).includes('sends at once'));
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.length).toBeLessThanOrEqual(15);
  }, 30_000);
});
