import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { advise, advisorFor, applyAutoPlacement } from '../../src/control/advisor.ts';
import { createMoveRunner } from '../../src/control/placement-move.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { RegionPolicy } from '../../src/core/region.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

const openPlatform = tempPlatforms('advisor-cannot-dedicate');

/**
 * The advisor recommended promoting tenants the platform refuses to make dedicated: an id too long for its
 * lanes' queue names, a contract region the dedicated lanes cannot reach. The console offered a button that
 * failed, `POST /v1/admin/advisor/apply` listed the move as refused, and automatic placement tried and failed
 * on every pass. Now such a tenant is advised `keep`, with the reason it cannot be dedicated.
 */
describe('the advisor and a tenant that cannot be dedicated', () => {
  it('advises keep, says why, and automatic placement does not try the move the runner would refuse', async () => {
    const { platform } = openPlatform();
    const operations = createSqliteOperationStore(platform.db);
    const here: RegionPolicy = { region: 'local', dedicatedRegions: ['local'] };
    const auto = { placementPolicy: { mode: 'auto' as const, requiresIsolation: true } };
    // 63 characters: its dead-letter queue names would pass SQS's 80.
    const longId = `a-${randomUUID().replaceAll('-', '')}${'x'.repeat(29)}`;
    const abroad = `eu-${randomUUID().slice(0, 8)}`;
    const fine = `ok-${randomUUID().slice(0, 8)}`;
    await createTenant(platform, { id: longId, name: 'Long', config: auto });
    await createTenant(platform, { id: fine, name: 'Fine', config: auto });
    // Onboarded while the platform ran in eu-west-1 (its region then); it now runs in `local`.
    const before: RegionPolicy = { region: 'eu-west-1', dedicatedRegions: ['eu-west-1'] };
    await createTenant({ ...platform, regions: before }, { id: abroad, name: 'Abroad', region: 'eu-west-1' });

    const moves = createMoveRunner({ ...platform, operations, regions: here, drive: 'elsewhere' });
    // The runner refuses both promotions: the advice must match.
    await expect(moves.start(longId, 'dedicated')).rejects.toThrow('too long for dedicated placement');
    await expect(moves.start(abroad, 'dedicated')).rejects.toMatchObject({ code: 'region_unavailable' });

    const advisor = {
      ...advisorFor({ directory: platform.directory, stores: platform.stores, queue: platform.queue }),
      regions: here,
    };
    const byId = new Map((await advise(advisor)).map((r) => [r.tenantId, r]));
    expect(byId.get(longId)).toMatchObject({ action: 'keep', recommended: 'shared' });
    expect(byId.get(longId)?.cannotBeDedicated).toContain('too long for dedicated placement');
    expect(byId.get(longId)?.reasons[0]).toMatch(
      /^it cannot be dedicated: the id is too long .*otherwise: promote, as its contract requires isolated/,
    );
    expect(byId.get(abroad)).toMatchObject({ action: 'keep', recommended: 'shared' });
    expect(byId.get(abroad)?.cannotBeDedicated).toContain('cannot deploy to eu-west-1');
    expect(byId.get(fine)).toMatchObject({ action: 'promote', recommended: 'dedicated' });
    expect(byId.get(fine)?.cannotBeDedicated).toBeUndefined();

    const reported: string[] = [];
    const applied = await applyAutoPlacement({
      advisor,
      move: (tenant, to) => moves.start(tenant.id, to),
      lastMoveAt: async () => undefined,
      onError: (tenantId, error) => reported.push(`${tenantId}: ${String(error)}`),
    });
    expect(applied.map((r) => r.tenantId)).toEqual([fine]);
    expect(reported).toEqual([]);
    await moves.stop();
  });
});
