import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { advisorFor, startAutoPlacement } from '../../src/control/advisor.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { Placement, Tenant } from '../../src/core/tenant.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-auto-placement-'));
const platform = openEmbeddedPlatform(dir);
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A shared tenant whose policy is `auto` and that needs isolation: the advisor always says promote. */
function tenantRecord(id: string, createdAt: Date, incarnation: string): Tenant {
  const at = createdAt.toISOString();
  return {
    id: id as TenantId,
    name: 'Auto',
    status: 'active',
    placement: 'shared',
    plan: 'enterprise',
    config: { placementPolicy: { mode: 'auto', requiresIsolation: true } },
    apiKeys: [],
    createdAt: at,
    incarnation,
    updatedAt: at,
    version: 1,
  } as unknown as Tenant;
}

describe('automatic placement and a tenant id onboarded again', () => {
  it('keeps the cooldown of a tenant it moved, but not for the next customer under the same id', async () => {
    const moves: [string, Placement][] = [];
    const auto = startAutoPlacement({
      advisor: advisorFor({ directory: platform.directory, stores: platform.stores, queue: platform.queue }),
      move: async (tenantId, to) => {
        moves.push([tenantId, to]);
      },
      intervalMs: 3_600_000,
    });
    try {
      await platform.directory.create(tenantRecord('acme', new Date(Date.now() - 60_000), 'first'));
      expect((await auto.runOnce()).map((r) => r.tenantId)).toEqual(['acme']);
      // The same tenant within the cooldown (this move did not change its record): left alone.
      expect(await auto.runOnce()).toEqual([]);

      // Offboarded, and the id onboarded again by another customer: its own first move is due at once.
      await platform.directory.delete('acme' as TenantId);
      await platform.directory.create(tenantRecord('acme', new Date(Date.now() + 1), 'second'));
      expect((await auto.runOnce()).map((r) => r.tenantId)).toEqual(['acme']);
      expect(moves).toEqual([
        ['acme', 'dedicated'],
        ['acme', 'dedicated'],
      ]);
    } finally {
      auto.stop();
    }
  });
});
