import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

type Problem = { code: string; errors: { path: string; message: string }[] };

/**
 * `GET /v1/jobs?model=fnance` answered an empty 200, which reads as "no jobs"; so did a filter the list does
 * not have (`?from=…`, ignored: an unfiltered list), and an operator's `?tenant=` naming no tenant. Each is
 * now a 400 naming the parameter and what it may be.
 */
describe('list filters that match nothing the platform has', () => {
  it('are 400 problems naming the parameter and the values it may take', async () => {
    const tenant = newTenantId('filters');
    const { apiKey } = await server.createTenant(tenant);
    const op = server.operatorToken;
    const cases: [string, string, string, RegExp][] = [
      [apiKey, '/v1/jobs?model=fnance', '/querystring/model', /must be one of: finance, funds/],
      [apiKey, '/v1/jobs?status=done', '/querystring/status', /must be one of: queued, running, succeeded/],
      [apiKey, '/v1/jobs?from=2026-01-01T00:00:00Z', '/querystring/from', /is not a field of this request/],
      [apiKey, `/v1/jobs?tenant=${tenant}`, '/querystring/tenant', /is not a field of this request/],
      [op, '/v1/admin/jobs?model=fnance', '/querystring/model', /must be one of: finance, funds/],
      [op, '/v1/admin/jobs?status=done', '/querystring/status', /must be one of/],
      [op, '/v1/admin/jobs?from=yesterday', '/querystring/from', /date-time/],
      [
        op,
        `/v1/admin/jobs?tenant=${newTenantId('nosuch')}`,
        '/querystring/tenant',
        /is no tenant of this platform/,
      ],
      [op, '/v1/admin/jobs?tenant=Not_A_Tenant', '/querystring/tenant', /lowercase letters/],
      [op, '/v1/admin/tenants?status=active', '/querystring/status', /is not a field of this request/],
      [op, '/v1/admin/dead-letters?queue=finance&limit=5', '/querystring/limit', /is not a field/],
    ];
    for (const [token, path, field, message] of cases) {
      const res = await server.api(path, { token });
      expect(res.status, path).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as Problem;
      expect(problem.code, path).toBe('validation_failed');
      expect(problem.errors[0], path).toMatchObject({ path: field, message: expect.stringMatching(message) });
    }
    // The filters that do exist still answer.
    for (const [token, path] of [
      [apiKey, '/v1/jobs?model=finance&status=queued'],
      [op, `/v1/admin/jobs?tenant=${tenant}&model=funds`],
    ] as const) {
      expect((await server.api(path, { token })).status, path).toBe(200);
    }
  }, 60_000);
});
