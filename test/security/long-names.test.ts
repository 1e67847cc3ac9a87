import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

/**
 * Every way request text could reach an object key or a file name (artifact names, job and operation ids,
 * tenant and release ids, Idempotency-Keys, a user's token subject) with names longer than a file system
 * takes (255 bytes): each answers a 4xx problem, never a 500, and the server never meets ENAMETOOLONG.
 */
const long = (n: number, c = 'a') => c.repeat(n);

let server: TestServer;
let tenant: string;
let apiKey: string;
let jobId: string;
beforeAll(async () => {
  server = await startTestServer();
  tenant = newTenantId();
  ({ apiKey } = await server.createTenant(tenant));
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: apiKey,
    body: JSON.stringify({ input: { years: 3 } }),
  });
  expect(res.status).toBe(202);
  jobId = ((await res.json()) as { id: string }).id;
  await waitForJob(server, apiKey, jobId);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

async function expect4xx(res: Response, label: string): Promise<void> {
  const text = await res.text();
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(res.headers.get('content-type'), label).toContain('application/problem+json');
}

describe('names longer than a file system takes, sent over HTTP', () => {
  it('as artifact names, job ids and Idempotency-Keys: a 4xx problem each', async () => {
    const token = apiKey;
    // The router takes path parameters up to 100 characters; longer ones are 414 before any handler.
    for (const name of [long(100), long(256), `${long(200)}.xlsx`]) {
      await expect4xx(
        await server.api(`/v1/jobs/${jobId}/artifacts/${name}`, { token }),
        `artifact ${name.length}`,
      );
    }
    for (const id of [`j_${long(98)}`, `j_${long(300)}`]) {
      await expect4xx(await server.api(`/v1/jobs/${id}`, { token }), `job ${id.length}`);
      await expect4xx(
        await server.api(`/v1/jobs/${id}/artifacts/workbook.xlsx`, { token }),
        `job ${id.length}`,
      );
      await expect4xx(await server.api(`/v1/jobs/${id}`, { token, method: 'DELETE' }), `job ${id.length}`);
    }
    const submit = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token,
      headers: { 'idempotency-key': long(300, 'k') },
      body: JSON.stringify({ input: { years: 3 } }),
    });
    await expect4xx(submit, 'Idempotency-Key');
    // The artifact the job stored is still served.
    expect((await server.api(`/v1/jobs/${jobId}/artifacts/workbook.xlsx`, { token })).status).toBe(200);
  });

  it('as tenant ids (header, body, path), release ids and operation ids: a 4xx problem each', async () => {
    const operator = server.operatorToken;
    await expect4xx(await server.api('/v1/jobs', { token: apiKey, tenant: long(300, 't') }), 'x-tenant-id');
    const create = await server.api('/v1/admin/tenants', {
      method: 'POST',
      token: operator,
      body: JSON.stringify({ id: long(300, 't'), name: 'Long' }),
    });
    await expect4xx(create, 'tenant create');
    for (const id of [long(100, 't'), long(300, 't')]) {
      await expect4xx(
        await server.api(`/v1/admin/tenants/${id}`, { token: operator }),
        `tenant ${id.length}`,
      );
      await expect4xx(
        await server.api(`/v1/admin/tenants/${id}/offboard`, { method: 'POST', token: operator }),
        `offboard ${id.length}`,
      );
      await expect4xx(
        await server.api(`/v1/admin/releases/${id}`, { token: operator }),
        `release ${id.length}`,
      );
      await expect4xx(
        await server.api(`/v1/admin/releases/${id}/rollout`, { method: 'POST', token: operator, body: '{}' }),
        `rollout ${id.length}`,
      );
      await expect4xx(
        await server.api(`/v1/admin/operations/${id}`, { token: operator }),
        `operation ${id.length}`,
      );
      await expect4xx(
        await server.api(`/v1/admin/operations/${id}/export`, { token: operator }),
        `export ${id.length}`,
      );
    }
    const token = await server.api('/v1/admin/tokens', {
      method: 'POST',
      token: operator,
      body: JSON.stringify({ tenants: [long(300, 't')], user: 'u' }),
    });
    await expect4xx(token, 'token for a long tenant id');
  });

  it("a user's settings are stored under a fixed-length key whatever the token's subject", async () => {
    // The subject is free text from the credential (200 characters at most in a minted token, any length
    // from an OIDC issuer); it never becomes a key segment as it is.
    const user = long(200, 'u');
    const minted = await server.api('/v1/admin/tokens', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ tenants: [tenant], user }),
    });
    expect(minted.status).toBe(200);
    const { token } = (await minted.json()) as { token: string };
    const patch = await server.api('/v1/me/notifications', {
      method: 'PATCH',
      token,
      tenant,
      body: JSON.stringify({ optIn: { push: true } }),
    });
    expect(patch.status, await patch.clone().text()).toBe(200);
    const read = await server.api('/v1/me/notifications', { token, tenant });
    expect(read.status).toBe(200);
  });

  it('the server never met a name too long for its file system', () => {
    expect(server.output()).not.toMatch(/ENAMETOOLONG|name too long/);
  });
});
