import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { advisorFor, applyAutoPlacement } from '../../src/control/advisor.ts';
import { createMoveRunner } from '../../src/control/placement-move.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-auto-refusal-'));
const platform = openEmbeddedPlatform(dir);
const operations = createSqliteOperationStore(platform.db);
// Recorded here, driven elsewhere: a started move stays running, as the AWS API's do until the control
// function drives them.
const moves = createMoveRunner({ ...platform, operations, drive: 'elsewhere' });
afterAll(async () => {
  await moves.stop();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Automatic placement moves every tenant whose policy is `auto` as the advisor says. A tenant whose move
 * could not start threw out of the pass, so every `auto` tenant after it was never moved; the AWS control
 * function reads the cooldown from the moves made, which a refused start never makes, so it was so on every
 * pass. The advisor no longer recommends a move the runner refuses for good (an id too long for dedicated
 * lanes: advisor-cannot-dedicate.test.ts); here the tenant changed after the advice was read (an operator
 * starts offboarding it just before its move), and the runner refuses the move (409 `offboarding`).
 */
describe('automatic placement with a tenant whose move is refused', () => {
  it('reports that tenant and moves the others, on every pass', async () => {
    const auto = { placementPolicy: { mode: 'auto' as const, requiresIsolation: true } };
    const refused = `a-${randomUUID().slice(0, 8)}`; // sorted first
    const later = `zz-${randomUUID().slice(0, 8)}`;
    let offboardedMeanwhile = false;
    await createTenant(platform, { id: refused, name: 'Long', config: auto });
    await createTenant(platform, { id: later, name: 'Later', config: auto });
    const reported: string[] = [];
    const pass = () =>
      applyAutoPlacement({
        advisor: advisorFor(
          { directory: platform.directory, stores: platform.stores, queue: platform.queue },
          { operations },
        ),
        move: async (tenant: Tenant, to) => {
          if (tenant.id === refused && !offboardedMeanwhile) {
            offboardedMeanwhile = true;
            await moves.offboard(tenant.id);
          }
          return moves.start(tenant.id, to);
        },
        lastMoveAt: async (tenant) => {
          const made = (await operations.listByTenant(tenant.id)).filter((op) => op.kind === 'move');
          return made.length > 0 ? Math.max(...made.map((op) => Date.parse(op.createdAt))) : undefined;
        },
        onError: (tenantId, error) => reported.push(`${tenantId}: ${String(error)}`),
      });

    expect((await pass()).map((r) => r.tenantId)).toEqual([later]);
    expect((await platform.directory.get(later as Tenant['id']))?.move?.to).toBe('dedicated');
    expect(reported).toEqual([expect.stringContaining(`${refused}: `)]);
    expect(reported[0]).toContain('is being offboarded');
    // The next pass: the offboarding tenant is no longer advised, the moving one left alone.
    expect(await pass()).toEqual([]);
    expect(reported).toHaveLength(1);
  });
});
