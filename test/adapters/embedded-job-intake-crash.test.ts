import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureQueue } from '../../src/control/lanes.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';

const submitter = fileURLToPath(new URL('./intake-submitter.ts', import.meta.url));
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the embedded submit killed with SIGKILL', () => {
  it('every accepted job has its message on the queue after the next start, exactly once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'silopool-intake-kill-'));
    const queue = sharedQueueName('finance');
    const setup = openEmbeddedPlatform(dir);
    await ensureQueue(setup.queue, queue);
    await setup.close();

    const tenantId = randomTenantId();
    const child = spawn(process.execPath, ['--import', 'tsx', submitter, dir, tenantId, '40'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_c, s) => resolve(s)),
    );
    expect(signal).toBe('SIGKILL');
    const accepted = out.split('\n').filter(Boolean);
    expect(accepted.length).toBeGreaterThanOrEqual(120);

    const restarted = openEmbeddedPlatform(dir);
    try {
      restarted.intake.drainAll();
      restarted.intake.drainAll();
      const bodies: string[] = [];
      for (;;) {
        const got = await restarted.queue.receive(queue, { maxMessages: 10, visibilityTimeoutSec: 60 });
        if (got.length === 0) break;
        bodies.push(...got.map((m) => m.body));
      }
      expect(bodies.length).toBe(new Set(bodies).size);
      expect(new Set(bodies)).toEqual(new Set(accepted));
      const jobs = restarted.stores.jobs({ kind: 'shared' }).forTenant(tenantId);
      expect(await jobs.countItems()).toBe(accepted.length);
    } finally {
      await restarted.close();
    }
  });
});
