import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startMetering } from '../../src/control/meter.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { makeTenant } from '../contract/fixtures.ts';
import { newTenantId } from '../support/server.ts';
import { firstListingStalls } from '../support/stalling-directory.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-meter-deadline-'));
const platform = openEmbeddedPlatform(dir);
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the metering pass on its timer', () => {
  it('abandons a pass whose directory never answers: the next passes run, and stop() does not wait for it', async () => {
    await platform.directory.create(makeTenant(parseTenantId(newTenantId('meter'))));
    const { directory, lists } = firstListingStalls(platform.directory);
    const errors: unknown[] = [];
    const metering = startMetering(
      { directory, stores: platform.stores, usage: platform.usage },
      { intervalMs: 50, passTimeoutMs: 300, onError: (error) => errors.push(error) },
    );
    // On the old metering the hung pass held every later one (one listing, ever), and stop() waited on it.
    await vi.waitFor(() => expect(lists()).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    expect(errors).toContainEqual(expect.objectContaining({ code: 'pass_deadline' }));
    await expect(metering.stop()).resolves.toBeUndefined();
  }, 15_000);
});
