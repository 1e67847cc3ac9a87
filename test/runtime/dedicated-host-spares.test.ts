import { afterEach, describe, expect, it, vi } from 'vitest';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { startDedicatedHost } from '../../src/runtime/dedicated-host.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';
import { tempDir } from './stand-in.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("the dedicated host's spare function processes", () => {
  it('are kept only while a dedicated lane could take one: none for tenants of another memory setting', async () => {
    const dataDir = tempDir('silopool-host-spares-');
    const platform = openEmbeddedPlatform(dataDir);
    cleanups.push(() => platform.close());
    const big = randomTenantId('big');
    const base = makeTenant(big);
    await platform.directory.create(
      makeTenant(big, { placement: 'dedicated', config: { ...base.config, function: { memoryMb: 1024 } } }),
    );
    const host = startDedicatedHost({
      queue: platform.queue,
      directory: platform.directory,
      dataDir,
      models: ['finance'],
      visibilityTimeoutSec: 30,
      spareProcesses: 1,
      refreshMs: 600_000,
      onError: () => undefined,
    });
    cleanups.push(() => host.stop());
    await host.refresh();
    // A dedicated lane, but of 1,024 MB: a spare (512 MB) would never be taken, an idle process for nothing.
    expect(host.functions()).toHaveLength(1);
    expect(host.spares()).toEqual({ loaded: 0, loading: 0 });

    const small = randomTenantId('small');
    await platform.directory.create(makeTenant(small, { placement: 'dedicated' }));
    await host.refresh();
    expect(host.spares()).toEqual({ loaded: 0, loading: 1 });
    await vi.waitFor(() => expect(host.spares().loaded).toBe(1), { timeout: 15_000 });
  }, 30_000);
});
