import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// The methods a router adds on its own: HEAD for every GET (Fastify's exposeHeadRoutes), OPTIONS where a
// CORS plugin answers preflights. Each must meet the GET route's audience: a HEAD that answers 200 tells
// an outsider a tenant or job exists, and its Content-Length tells how much is there.
let server: TestServer;
let tenant: string;
let key: string;
let otherKey: string;

beforeAll(async () => {
  server = await startTestServer();
  tenant = newTenantId('hd');
  key = (await server.createTenant(tenant)).apiKey;
  otherKey = (await server.createTenant(newTenantId('hdo'))).apiKey;
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('HEAD and OPTIONS', () => {
  it('HEAD of operator and tenant routes meets their audience', async () => {
    for (const [path, token, status] of [
      ['/v1/admin/tenants', undefined, 401],
      [`/v1/admin/tenants/${tenant}`, undefined, 401],
      [`/v1/admin/tenants/${tenant}`, key, 403],
      ['/v1/admin/releases', key, 403],
      ['/metrics', key, 403],
      ['/v1/jobs', undefined, 401],
      ['/v1/billing/usage', undefined, 401],
      ['/v1/settings/webhook', undefined, 401],
    ] as const) {
      const res = await server.api(path, { method: 'HEAD', ...(token ? { token } : {}) });
      expect(res.status, `HEAD ${path}`).toBe(status);
    }
  });

  it('OPTIONS reveals no route to an outsider beyond what GET would', async () => {
    for (const path of ['/v1/admin/tenants', `/v1/admin/tenants/${tenant}`, '/v1/jobs']) {
      const res = await server.api(path, { method: 'OPTIONS' });
      // No CORS plugin: OPTIONS matches no route, the same 404 whether the tenant exists or not.
      expect(res.status, `OPTIONS ${path}`).toBe(404);
      const missing = await server.api(path.replace(tenant, newTenantId('nobody')), { method: 'OPTIONS' });
      expect(missing.status).toBe(404);
    }
  });

  it("HEAD of an operator route with a tenant's key is refused like GET", async () => {
    const res = await server.api(`/v1/admin/tenants/${tenant}`, { method: 'HEAD', token: otherKey });
    expect(res.status).toBe(403);
  });
});
