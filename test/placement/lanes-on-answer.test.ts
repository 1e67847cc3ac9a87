import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// What the admin API answered is what the function host runs: a dedicated tenant's lanes exist when its
// create answers 201, and its function settings are the ones a PATCH answered 200 with. The host also
// re-reads the directory every 500 ms; before, these waited for that tick.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

interface Lane {
  tenantId: string;
  model: string;
  settings: { timeoutSec: number; memoryMb: number };
}

async function lanesOf(tenantId: string): Promise<Lane[]> {
  const res = await server.api('/v1/admin/functions', { token: server.operatorToken });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Lane[] }).items.filter((f) => f.tenantId === tenantId);
}

describe("a dedicated tenant's lanes follow the admin API's answer", () => {
  it('exist when its create answers, with the settings its PATCH answered', async () => {
    for (let i = 0; i < 3; i++) {
      const id = newTenantId('lanes');
      await server.createTenant(id, { placement: 'dedicated' });
      expect((await lanesOf(id)).map((l) => l.model).sort()).toEqual(['finance', 'funds']);

      const patched = await server.api(`/v1/admin/tenants/${id}`, {
        method: 'PATCH',
        token: server.operatorToken,
        body: JSON.stringify({ config: { function: { timeoutSec: 77 + i } } }),
      });
      expect(patched.status).toBe(200);
      for (const lane of await lanesOf(id)) expect(lane.settings.timeoutSec).toBe(77 + i);
    }
  }, 60_000);
});
