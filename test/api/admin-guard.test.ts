import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

// Operator routes are registered in several files (admin, usage, placement, advisor): every one of them
// must refuse a missing credential (401) and a tenant user's (403), whatever file added it.
describe('every operator route', () => {
  it('answers 401 without a credential and 403 to a tenant user or API key', async () => {
    const tenant = newTenantId('guard');
    const { apiKey } = await server.createTenant(tenant);
    const user = await server.mintToken({ tenants: [tenant], user: 'u' });
    const templates: [string, string][] = [
      ['GET', '/v1/admin/tenants'],
      ['POST', '/v1/admin/tenants'],
      ['GET', '/v1/admin/tenants/{id}'],
      ['PATCH', '/v1/admin/tenants/{id}'],
      ['DELETE', '/v1/admin/tenants/{id}'],
      ['POST', '/v1/admin/tenants/{id}/placement'],
      ['POST', '/v1/admin/tenants/{id}/offboard'],
      ['POST', '/v1/admin/tenants/{id}/api-keys'],
      ['GET', '/v1/admin/tenants/{id}/api-keys'],
      ['DELETE', '/v1/admin/tenants/{id}/api-keys/{keyId}'],
      ['POST', '/v1/admin/tenants/{id}/api-keys/{keyId}/rotate'],
      ['GET', '/v1/admin/models'],
      ['GET', '/v1/admin/operations/{id}'],
      ['GET', '/v1/admin/operations/{id}/export'],
      ['GET', '/v1/admin/tenants/{id}/operations'],
      ['GET', '/v1/admin/functions'],
      ['GET', '/v1/admin/queues'],
      ['GET', '/v1/admin/dead-letters'],
      ['POST', '/v1/admin/dead-letters/redrive'],
      ['GET', '/v1/admin/usage'],
      ['GET', '/v1/admin/advisor'],
      ['POST', '/v1/admin/advisor/apply'],
      ['POST', '/v1/admin/tokens'],
      ['GET', '/v1/admin/metrics/history'],
      ['GET', '/v1/admin/alerts'],
      ['GET', '/v1/admin/releases'],
      ['GET', '/v1/admin/releases/{id}'],
      ['POST', '/v1/admin/releases/{id}/rollout'],
      ['GET', '/v1/admin/rollouts'],
      ['POST', '/v1/admin/rollouts/{id}/abort'],
      ['PUT', '/v1/admin/tenants/{id}/pins'],
      ['PUT', '/v1/admin/tenants/{id}/region'],
      ['GET', '/v1/admin/billing/months'],
      ['GET', '/v1/admin/billing/plans'],
      ['GET', '/v1/admin/billing/summary'],
      ['GET', '/v1/admin/jobs'],
      ['GET', '/v1/admin/tenants/{id}/statements'],
      ['GET', '/v1/admin/tenants/{id}/statements/{month}'],
      ['GET', '/v1/admin/tenants/{tenantId}/jobs/{id}'],
      ['POST', '/v1/admin/billing/export'],
      ['POST', '/v1/admin/billing/months/{month}/close'],
      ['POST', '/v1/admin/tenants/{id}/adjustments'],
      ['POST', '/v1/admin/tenants/{id}/plan'],
      ['POST', '/v1/admin/tenants/{tenantId}/jobs/{id}/cancel'],
      ['POST', '/v1/admin/tenants/{tenantId}/jobs/{id}/redrive'],
      ['POST', '/v1/admin/tenants/{tenantId}/jobs/{id}/retry'],
      ['PUT', '/v1/admin/billing/plans'],
      ['PUT', '/v1/admin/tenants/{id}/billing-customer'],
      ['GET', '/metrics'],
    ];
    // The list above is every operator route the API documents: a new one cannot be left out.
    const spec = (await (await server.api('/docs/json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(spec.paths)
      .filter(([path]) => path.startsWith('/v1/admin') || path === '/metrics')
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(templates.map(([m, p]) => `${m} ${p}`).sort());

    const routes = templates.map(([method, template]): [string, string] => [
      method,
      template
        .replace('/tenants/{id}', `/tenants/${tenant}`)
        .replace('/operations/{id}', '/operations/op-1')
        .replace('{keyId}', 'k1')
        .replace('/releases/{id}', '/releases/builtin')
        .replace('/dead-letters', '/dead-letters?queue=shared_finance')
        .replace('?queue=shared_finance/redrive', '/redrive'),
    ]);
    for (const [method, path] of routes) {
      const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
      const anonymous = await server.api(path, { method, ...(body ? { body } : {}) });
      expect(anonymous.status, `${method} ${path} without a credential`).toBe(401);
      for (const token of [user, apiKey]) {
        const res = await server.api(path, { method, token, ...(body ? { body } : {}) });
        expect(res.status, `${method} ${path} as a tenant`).toBe(403);
      }
    }
    // Nothing happened to the tenant.
    const still = await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken });
    expect(((await still.json()) as { status: string; placement: string }).placement).toBe('shared');
  });
});
