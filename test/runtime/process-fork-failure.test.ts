import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { FunctionSettings } from '../../src/core/tenant.ts';

// A dedicated function whose fork fails: the machine is out of processes (`fork` starts none: Node emits
// `error` and never `exit`) or out of memory (`fork` throws). A stand-in answers events when a fork works.
const dir = mkdtempSync(join(tmpdir(), 'silopool-fork-failure-'));
const script = join(dir, 'answers.cjs');
writeFileSync(
  script,
  `process.on('message', (m) => {
     if (m.type === 'invoke') process.send({ type: 'result', id: m.id, response: { batchItemFailures: [] } });
   });
   process.on('disconnect', () => process.exit(0));
   process.send({ type: 'ready' });`,
);
/** What the next forks do, in order; past the list each one works. */
const plan: ('no-process' | 'throws')[] = [];
const forked: ChildProcess[] = [];
vi.mock('../../src/runtime/prebuilt.ts', async (original) => ({
  ...(await original<typeof import('../../src/runtime/prebuilt.ts')>()),
  forkPrebuilt: (_e: unknown, _s: unknown, args: string[], options: object) => {
    const next = plan.shift();
    if (next === 'throws') throw Object.assign(new Error('spawn ENOMEM'), { code: 'ENOMEM' });
    // A spawn that fails the way EAGAIN does: no pid, an `error` event, no `exit`.
    const proc = fork(script, args, {
      ...options,
      execArgv: [],
      ...(next === 'no-process' ? { execPath: join(dir, 'no-such-node') } : {}),
    });
    forked.push(proc);
    return proc;
  },
}));
const { createProcessRuntime } = await import('../../src/runtime/process-runtime.ts');
afterAll(() => {
  for (const proc of forked) if (proc.pid !== undefined && proc.exitCode === null) proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function runtime(settings: Partial<FunctionSettings>, errors: unknown[]) {
  return createProcessRuntime({
    name: 'tenant_t_finance',
    tenantId: 't' as never,
    model: 'finance',
    settings: {
      reservedConcurrency: 1,
      memoryMb: 128,
      timeoutSec: 10,
      idleTimeoutSec: 60,
      provisionedConcurrency: 0,
      ...settings,
    },
    child: { tenantId: 't' as never, storeDir: dir },
    tenant: async () => undefined,
    send: async () => undefined,
    onError: (e) => errors.push(e),
  });
}

describe('a dedicated function whose fork fails', () => {
  it('fails that event only: the next event forks again (it failed every event until the idle timeout)', async () => {
    const errors: unknown[] = [];
    const fn = runtime({}, errors);
    plan.push('no-process', 'throws');
    await expect(fn.invoke({ Records: [] })).rejects.toThrow(/started no process|ENOENT/);
    expect(fn.info().state).toBe('cold');
    await expect(fn.invoke({ Records: [] })).rejects.toThrow('spawn ENOMEM');
    await expect(fn.invoke({ Records: [] })).resolves.toEqual({ batchItemFailures: [] });
    expect(fn.info()).toMatchObject({ state: 'warm', coldStarts: 1 });
    await fn.close();
  }, 20_000);

  it('provisioned: started again after a wait, never a throw out of a timer (one crashed the server)', async () => {
    const errors: unknown[] = [];
    plan.push('throws', 'no-process');
    const fn = runtime({ provisionedConcurrency: 1 }, errors);
    // Tried at once (a throw), after 1 s (no process), after 2 s more: warm.
    await vi.waitFor(() => expect(fn.info().state).toBe('warm'), { timeout: 8000, interval: 100 });
    expect(errors.map(String)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('spawn ENOMEM'),
        expect.stringMatching(/started no process|ENOENT/),
      ]),
    );
    await fn.close();
  }, 20_000);
});
