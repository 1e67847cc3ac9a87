import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/**
 * `POST /v1/admin/advisor/apply` started the recommended moves one after another and threw at the first the
 * move runner refused: the answer was that tenant's 400, the moves already started were not in it, and the
 * recommended moves after it were never started.
 */
describe('applying the advisor with a move that is refused', () => {
  it('starts the others and names the refused one with its reason', async () => {
    const isolated = { placementPolicy: { mode: 'advise', requiresIsolation: true } };
    // 63 characters, sorted first: too long for the queue names of dedicated lanes.
    const refused = `a-${'x'.repeat(61)}`;
    const later = 'zz-isolated';
    await server.createTenant(refused, { config: isolated });
    await server.createTenant(later, { config: isolated });
    const res = await server.api('/v1/admin/advisor/apply', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ tenantIds: [refused, later] }),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const body = (await res.json()) as {
      items: { tenantId: string; to: string }[];
      refused?: { tenantId: string; code: string; detail: string }[];
    };
    expect(body.items.map((i) => [i.tenantId, i.to])).toEqual([[later, 'dedicated']]);
    expect(body.refused).toEqual([
      expect.objectContaining({ tenantId: refused, to: 'dedicated', code: 'validation_failed' }),
    ]);
    expect(body.refused?.[0]?.detail).toContain('too long for dedicated placement');
    // The console applies one tenant at a time: a refusal of it is an error it shows, not a silent nothing.
    const operator = createClient({ baseUrl: server.url, token: server.operatorToken });
    await expect(operator.applyAdvice([refused])).rejects.toMatchObject({
      name: 'ProblemError',
      code: 'validation_failed',
      status: 400,
    });
  }, 60_000);
});
