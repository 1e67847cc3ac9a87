import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { advisorRoutes } from '../../src/api/routes/advisor.ts';
import { createClient } from '../../src/client/index.ts';
import { advisorFor } from '../../src/control/advisor.ts';
import { createMoveRunner } from '../../src/control/placement-move.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { Placement } from '../../src/core/tenant.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

const openPlatform = tempPlatforms('advisor-apply-refusal');

/**
 * `POST /v1/admin/advisor/apply` started the recommended moves one after another and threw at the first the
 * move runner refused: the answer was that tenant's error, the moves already started were not in it, and the
 * recommended moves after it were never started. The advisor no longer recommends a move the runner refuses
 * for good (advisor-cannot-dedicate.test.ts); what remains is a tenant that changed after the advice was
 * read: here another operator starts offboarding it just before its move, and the runner refuses the move
 * (409 `offboarding`).
 */
describe('applying the advisor with a move that is refused', () => {
  it('starts the others and names the refused one with its reason', async () => {
    const { platform } = openPlatform();
    const operations = createSqliteOperationStore(platform.db);
    const moves = createMoveRunner({ ...platform, operations, drive: 'elsewhere' });
    const isolated = { placementPolicy: { mode: 'advise' as const, requiresIsolation: true } };
    const refused = `a-${randomUUID().slice(0, 8)}`; // sorted first
    const alone = `b-${randomUUID().slice(0, 8)}`;
    const later = `zz-${randomUUID().slice(0, 8)}`;
    for (const id of [refused, alone, later])
      await createTenant(platform, { id, name: id, config: isolated });
    const offboardedMeanwhile = new Set([refused, alone]);

    const app = Fastify({ logger: false });
    advisorRoutes(app, {
      ...advisorFor({ directory: platform.directory, stores: platform.stores, queue: platform.queue }),
      move: async (tenantId: string, to: Placement) => {
        if (offboardedMeanwhile.delete(tenantId)) await moves.offboard(tenantId);
        return moves.start(tenantId, to);
      },
    });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${url}/v1/admin/advisor/apply`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenantIds: [refused, later] }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      const body = (await res.json()) as {
        items: { tenantId: string; to: string }[];
        refused?: { tenantId: string; code: string; detail: string }[];
      };
      expect(body.items.map((i) => [i.tenantId, i.to])).toEqual([[later, 'dedicated']]);
      expect(body.refused).toEqual([
        expect.objectContaining({ tenantId: refused, to: 'dedicated', status: 409, code: 'offboarding' }),
      ]);
      expect(body.refused?.[0]?.detail).toContain('is being offboarded');
      // The console applies one tenant at a time: a refusal of it is an error it shows, not a silent nothing.
      const operator = createClient({ baseUrl: url, token: 'unused' });
      await expect(operator.applyAdvice([alone])).rejects.toMatchObject({
        name: 'ProblemError',
        code: 'offboarding',
        status: 409,
      });
    } finally {
      await app.close();
      await moves.stop();
    }
  });
});
