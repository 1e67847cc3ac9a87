import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// A stand-in for a function process running hostile release code: it answers its event, then ignores
// SIGTERM and the host's channel closing, and would stay for good.
const dir = mkdtempSync(join(tmpdir(), 'silopool-close-stopping-'));
const script = join(dir, 'deaf.cjs');
writeFileSync(
  script,
  `process.on('SIGTERM', () => undefined);
   process.on('disconnect', () => undefined);
   setInterval(() => undefined, 1000);
   process.on('message', (m) => {
     if (m.type === 'invoke') process.send({ type: 'result', id: m.id, response: { batchItemFailures: [] } });
   });
   process.send({ type: 'ready' });`,
);
const pids: number[] = [];
vi.mock('../../src/runtime/prebuilt.ts', () => ({
  forkPrebuilt: (_e: unknown, _s: unknown, args: string[], options: object) => {
    const proc = fork(script, args, { ...options, execArgv: [] });
    if (proc.pid) pids.push(proc.pid);
    return proc;
  },
}));
const { createProcessRuntime } = await import('../../src/runtime/process-runtime.ts');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
afterAll(() => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('closing a dedicated function', () => {
  it('ends a process it idle-stopped that ignores SIGTERM, not only its current one', async () => {
    const runtime = createProcessRuntime({
      name: 'tenant_t_finance',
      tenantId: 't' as never,
      model: 'finance',
      settings: {
        reservedConcurrency: 1,
        memoryMb: 128,
        timeoutSec: 10,
        idleTimeoutSec: 0.05,
        provisionedConcurrency: 0,
      },
      child: { tenantId: 't' as never, storeDir: dir },
      tenant: async () => undefined,
      send: async () => undefined,
    });
    await runtime.invoke({ Records: [] });
    const [pid] = pids;
    // Idle-stopped (SIGTERM, ignored): the host no longer counts it as its process.
    await vi.waitFor(() => expect(runtime.info().state).toBe('cold'), { timeout: 5000 });
    expect(alive(pid as number)).toBe(true);
    // The server stops at once: its 5 s grace timer is unref'd and would never fire.
    await runtime.close();
    await vi.waitFor(() => expect(alive(pid as number)).toBe(false), { timeout: 1000 });
  }, 20_000);
});
