import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// A query parameter a route does not take is a 400 naming it, never ignored: `?month=2026-01` on the
// tenant's usage answered this month's figures with a 200, so a reader took them for January's.
let server: TestServer;
let tenant: string;
let apiKey: string;

beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  tenant = newTenantId('query');
  ({ apiKey } = await server.createTenant(tenant));
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const asTenant = (path: string) => server.api(path, { token: apiKey });
const asOperator = (path: string) => server.api(path, { token: server.operatorToken });

async function refusedNaming(res: Response, parameter: string) {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(await res.text()).toContain(parameter);
}

describe('query parameters a route does not take', () => {
  it("the tenant's usage with a month asked for is refused, not this month's figures", async () => {
    expect((await asTenant('/v1/billing/usage')).status).toBe(200);
    await refusedNaming(await asTenant('/v1/billing/usage?month=2026-01'), 'month');
  });

  it('so is every API route that declares no query string (tenant and operator)', async () => {
    await refusedNaming(await asTenant('/v1/me?tenant=other'), 'tenant');
    await refusedNaming(await asTenant('/v1/models?version=9'), 'version');
    await refusedNaming(await asOperator(`/v1/admin/tenants/${tenant}?include=secrets`), 'include');
    expect((await asOperator(`/v1/admin/tenants/${tenant}`)).status).toBe(200);
  });

  it('routes that take parameters still take them, and refuse a misspelt one', async () => {
    expect((await asTenant('/v1/jobs?limit=5')).status).toBe(200);
    await refusedNaming(await asTenant('/v1/jobs?stauts=failed'), 'stauts');
  });
});
