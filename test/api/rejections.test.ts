import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function expectProblem(res: Response, status: number, code?: string): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.status).toBe(status);
  if (code) expect(body.code).toBe(code);
  return body;
}

describe('authentication', () => {
  it('refuses missing, malformed, unsigned, forged and expired tokens with 401', async () => {
    const tenant = newTenantId();
    await server.createTenant(tenant);
    const valid = await server.mintToken({ tenants: [tenant], user: 'u' });
    const [header, payload] = valid.split('.');
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ tenants: [tenant], roles: ['operator'] })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('urn:silopool:embedded')
      .setAudience('silopool')
      .setExpirationTime('1h')
      .sign(privateKey);
    const none = new UnsecuredJWT({ tenants: [tenant], roles: ['operator'] })
      .setIssuer('urn:silopool:embedded')
      .setAudience('silopool')
      .encode();
    const expired = await server.mintToken({ tenants: [tenant], user: 'u', expiresIn: '1s' });
    await new Promise((r) => setTimeout(r, 2100));
    const cases: (string | undefined)[] = [
      undefined,
      'garbage',
      `${header}.${payload}`,
      `${header}.${payload}.AAAA`,
      none,
      forged,
      expired,
      `sp_${tenant}_${'x'.repeat(43)}`,
    ];
    for (const token of cases) {
      const res = await server.api('/v1/jobs', { ...(token ? { token } : {}), tenant });
      await expectProblem(res, 401, 'unauthorized');
    }
  });

  it('answers 403 for a tenant the credential does not grant, unknown or suspended tenants, and user-on-operator routes', async () => {
    const a = newTenantId('a');
    const b = newTenantId('b');
    const { apiKey } = await server.createTenant(a);
    await server.createTenant(b);
    const token = await server.mintToken({ tenants: [a], user: 'u' });
    await expectProblem(await server.api('/v1/jobs', { token, tenant: b }), 403, 'forbidden');
    await expectProblem(await server.api('/v1/jobs', { token: apiKey, tenant: b }), 403, 'forbidden');
    const ghost = await server.mintToken({ tenants: ['ghost-tenant'], user: 'u' });
    await expectProblem(await server.api('/v1/jobs', { token: ghost, tenant: 'ghost-tenant' }), 403);
    await expectProblem(await server.api('/v1/admin/tenants', { token }), 403);
    await expectProblem(await server.api('/v1/admin/tenants', { token: apiKey }), 403);
    const suspend = await server.api(`/v1/admin/tenants/${a}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body: JSON.stringify({ status: 'suspended' }),
    });
    expect(suspend.status).toBe(200);
    await expectProblem(await server.api('/v1/jobs', { token: apiKey }), 403);
  });
});

describe('tenant isolation', () => {
  it('tenant a1 cannot see, list, cancel, stream or download the jobs of a1-x (404, as if absent)', async () => {
    const base = newTenantId('a1');
    const a1 = base;
    const a1x = `${base}-x`;
    const k1 = (await server.createTenant(a1)).apiKey;
    const kx = (await server.createTenant(a1x)).apiKey;
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: kx,
      body: '{"input":{}}',
    });
    const theirs = (await res.json()) as { id: string; artifacts: { url: string }[] };
    const done = (await waitForJob(server, kx, theirs.id)) as { artifacts: { url: string }[] };
    const missing = 'j_01m8djf2v94r1m271qxr47dhq2';
    for (const path of [
      `/v1/jobs/${theirs.id}`,
      `/v1/jobs/${theirs.id}/events`,
      done.artifacts[0]!.url,
      `/v1/jobs/${missing}`,
      '/v1/jobs/..%2F..%2Fetc',
    ]) {
      const mine = await server.api(path, { token: k1 });
      const body = await expectProblem(mine, 404, 'not_found');
      expect(JSON.stringify(body)).not.toContain(a1x);
    }
    await expectProblem(await server.api(`/v1/jobs/${theirs.id}`, { method: 'DELETE', token: k1 }), 404);
    const list = (await (await server.api('/v1/jobs', { token: k1 })).json()) as { items: unknown[] };
    expect(list.items).toEqual([]);
    // A cursor is decoded inside a1's view: a forged one cannot page into a1-x's partition.
    const forgedCursor = Buffer.from(JSON.stringify({ pk: `T#${a1x}`, sk: 'JOB#z' })).toString('base64url');
    const paged = await server.api(`/v1/jobs?cursor=${forgedCursor}`, { token: k1 });
    expect([200, 400]).toContain(paged.status);
    if (paged.status === 200) expect(((await paged.json()) as { items: unknown[] }).items).toEqual([]);
    // x-tenant-id never widens what the key grants.
    await expectProblem(await server.api(`/v1/jobs/${theirs.id}`, { token: k1, tenant: a1x }), 403);
  });
});

describe('input validation', () => {
  it('names every bad field with 400, unknown model 404, too-large body 413, never 500', async () => {
    const tenant = newTenantId();
    const { apiKey } = await server.createTenant(tenant);
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      server.api(path, { method: 'POST', token: apiKey, body, headers });
    const bad = await expectProblem(
      await post(
        '/v1/models/finance/jobs',
        JSON.stringify({ input: { years: 0, discountRate: 'high', revenue: -5 } }),
      ),
      400,
      'validation_failed',
    );
    const paths = (bad.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/input/years', '/input/discountRate', '/input/revenue']));
    const nonsense = await expectProblem(
      await post(
        '/v1/models/finance/jobs',
        JSON.stringify({ input: { discountRate: 0.05, terminalGrowth: 0.06 } }),
      ),
      400,
    );
    expect(JSON.stringify(nonsense.errors)).toContain('terminalGrowth');
    await expectProblem(await post('/v1/models/nope/jobs', '{"input":{}}'), 404);
    await expectProblem(await post('/v1/models/finance/jobs', '{"input":'), 400, 'invalid_json');
    await expectProblem(await post('/v1/models/finance/jobs', '[1,2]'), 400);
    await expectProblem(await post('/v1/models/finance/jobs', 'null'), 400);
    await expectProblem(await post('/v1/models/finance/jobs', 'x'.repeat(300_000)), 413, 'body_too_large');
    await expectProblem(
      await post('/v1/models/finance/jobs', '{"input":{}}', { 'idempotency-key': 'bad key with spaces' }),
      400,
    );
    await expectProblem(
      await post('/v1/models/finance/jobs', '{"input":{}}', { 'content-type': 'text/plain' }),
      415,
    );
    // An operator's bad tenant settings: each field named, nothing stored.
    const patchTenant = (config: unknown) =>
      server.api(`/v1/admin/tenants/${tenant}`, {
        method: 'PATCH',
        token: server.operatorToken,
        body: JSON.stringify({ config }),
      });
    const badSettings = await expectProblem(
      await patchTenant({
        function: { memoryMb: 64, timeoutSec: 1.5, reservedConcurrency: 'many', turbo: true },
        limits: { maxQueuedJobs: -1, weight: 0 },
      }),
      400,
      'validation_failed',
    );
    expect((badSettings.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      '/config/function/memoryMb',
      '/config/function/reservedConcurrency',
      '/config/function/timeoutSec',
      '/config/function/turbo',
      '/config/limits/maxQueuedJobs',
      '/config/limits/weight',
    ]);
    await expectProblem(await patchTenant({ function: [1] }), 400, 'validation_failed');
    const unchanged = (await (
      await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken })
    ).json()) as { config: { function?: unknown } };
    expect(unchanged.config.function ?? {}).toEqual({});
    expect((await patchTenant({ function: { memoryMb: 2048, timeoutSec: 60 } })).status).toBe(200);
    await expectProblem(await server.api('/v1/jobs?limit=1000', { token: apiKey }), 400);
    await expectProblem(await server.api('/v1/jobs?status=weird', { token: apiKey }), 400);
    const healthy = await server.api('/healthz');
    expect(healthy.status).toBe(200);
    expect(server.output()).not.toMatch(/"level":50/);
  });
});
