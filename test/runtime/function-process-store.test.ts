import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { randomTenantId } from '../contract/fixtures.ts';
import { tempDir } from './stand-in.ts';
import { tenantRuntime } from './stand-in-runtime.ts';

describe('a dedicated function process', () => {
  it('started without its store (the tenant demoted or offboarded meanwhile) ends and does not make it', async () => {
    const dataDir = tempDir('silopool-fn-store-');
    const tenantId = randomTenantId();
    const storeDir = join(dataDir, 'tenants', tenantId);
    const errors: unknown[] = [];
    const runtime = tenantRuntime(tenantId, dataDir, { onError: (error) => errors.push(error) });
    const event: SQSEvent = { Records: [] };
    await expect(runtime.invoke(event)).rejects.toThrow(/exited .* before it was ready/);
    expect(existsSync(storeDir)).toBe(false);
  }, 30_000);

  it('that ends before it is ready says why in its error, not only its exit code', async () => {
    // The operator's log had "exited (1) before it was ready"; why was only in the server's raw stderr,
    // among other processes' lines, and pointed at a line of the prebuilt bundle.
    const dataDir = tempDir('silopool-fn-store-');
    const tenantId = randomTenantId();
    const runtime = tenantRuntime(tenantId, dataDir);
    await expect(runtime.invoke({ Records: [] })).rejects.toThrow(
      new RegExp(
        `exited \\(1\\) before it was ready: StoreNotFoundError: The dedicated store of tenant ${tenantId} does not exist`,
      ),
    );
  }, 30_000);

  it('kept warm (provisioned) but unable to start is tried again after a growing wait, not five times a second', async () => {
    const dataDir = tempDir('silopool-fn-store-');
    const tenantId = randomTenantId();
    const errors: unknown[] = [];
    const runtime = tenantRuntime(tenantId, dataDir, {
      settings: { provisionedConcurrency: 1 },
      onError: (error) => errors.push(error),
    });
    // The host re-reads every tenant's settings every 0.5 s; each read called keepWarm, which started one.
    const refresh = setInterval(() => runtime.updateSettings(runtime.info().settings), 100);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    clearInterval(refresh);
    // Restarted 0.1 s after each exit, a provisioned function whose store is missing was forked (and logged)
    // about five times a second for as long as the server ran: 23 processes in 5 s.
    expect(runtime.info().coldStarts).toBeGreaterThan(0);
    expect(runtime.info().coldStarts).toBeLessThanOrEqual(4);
    expect(String(errors[0])).toMatch(/before it was ready: StoreNotFoundError/);
  }, 30_000);
});
