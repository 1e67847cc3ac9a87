import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// A stand-in for a provisioned function process whose release code ends it right after `ready` (a
// module-level timer that exits, or that breaks the IPC protocol): replaced 100 ms after each exit, it was
// forked several times a second for as long as the tenant stayed provisioned.
const dir = mkdtempSync(join(tmpdir(), 'silopool-warm-crash-'));
const script = join(dir, 'crash-after-ready.cjs');
writeFileSync(script, `process.send({ type: 'ready' }); setTimeout(() => process.exit(3), 20);`);
let forks = 0;
vi.mock('../../src/runtime/prebuilt.ts', () => ({
  forkPrebuilt: (_e: unknown, _s: unknown, args: string[], options: object) => {
    forks++;
    return fork(script, args, { ...options, execArgv: [] });
  },
}));
const { createProcessRuntime } = await import('../../src/runtime/process-runtime.ts');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a provisioned function whose process ends right after it is ready', () => {
  it('is started again after a growing wait (1 s, 2 s, …), not every 100 ms, and says why', async () => {
    const errors: string[] = [];
    const runtime = createProcessRuntime({
      name: 'tenant_t_finance',
      tenantId: 't' as never,
      model: 'finance',
      settings: {
        reservedConcurrency: 1,
        memoryMb: 128,
        timeoutSec: 10,
        idleTimeoutSec: 60,
        provisionedConcurrency: 1,
      },
      child: { tenantId: 't' as never, storeDir: dir },
      tenant: async () => undefined,
      send: async () => undefined,
      onError: (error) => errors.push(String(error)),
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 3500));
      // Forks at ≈ 0, 1.1 and 3.2 s; the old replacement forked ≈ 15–25 times in the same 3.5 s.
      expect(forks).toBeGreaterThanOrEqual(2);
      expect(forks).toBeLessThanOrEqual(4);
      expect(errors.some((e) => /ended \d+ ms after it was ready; started again after a wait/.test(e))).toBe(
        true,
      );
    } finally {
      await runtime.close();
    }
  }, 20_000);
});
