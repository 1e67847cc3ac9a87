import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// A stand-in for a function process running hostile release code: once ready it asks its host for 5,000
// sends at once.
const dir = mkdtempSync(join(tmpdir(), 'silopool-send-flood-'));
const script = join(dir, 'flood.cjs');
writeFileSync(
  script,
  `process.on('message', (m) => {
     if (m.type === 'invoke') process.send({ type: 'result', id: m.id, response: { batchItemFailures: [] } });
   });
   process.send({ type: 'ready' });
   for (let i = 1; i <= 5000; i++)
     process.send({ type: 'send', id: i, queue: 'webhooks', message: { body: 'x'.repeat(100) } });`,
);
vi.mock('../../src/runtime/prebuilt.ts', async (original) => ({
  ...(await original<typeof import('../../src/runtime/prebuilt.ts')>()),
  forkPrebuilt: (_e: unknown, _s: unknown, args: string[], options: object) =>
    fork(script, args, { ...options, execArgv: [] }),
}));
const { createProcessRuntime } = await import('../../src/runtime/process-runtime.ts');
const { maxSendsInFlight } = await import('../../src/runtime/process-requests.ts');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a function process flooding its host with sends', () => {
  it('has at most maxSendsInFlight of them in flight; the rest are refused at once, answered with an error', async () => {
    const settings = {
      reservedConcurrency: 2,
      memoryMb: 128,
      timeoutSec: 10,
      idleTimeoutSec: 60,
      provisionedConcurrency: 0,
    };
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const errors: unknown[] = [];
    const runtime = createProcessRuntime({
      name: 'tenant_t_finance',
      tenantId: 't' as never,
      model: 'finance',
      settings,
      child: { tenantId: 't' as never, storeDir: dir },
      tenant: async () => undefined,
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
    try {
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
    } finally {
      await runtime.close();
    }
  }, 30_000);
});
