import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePageCursor } from '../../src/core/page-cursor.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

type Page = { items: { id?: string; jobId?: string }[]; nextCursor?: string };

/**
 * `GET /v1/admin/tenants?cursor=junk` took the junk as the id to list after and answered a partial page
 * (200); the job list of a tenant being moved read a junk merged cursor as none and started over. Every
 * paginated route now reads its cursor with one codec (core/page-cursor.ts): anything it did not make for
 * that list is a 400 naming /querystring/cursor; its own cursors still page through.
 */
describe('page cursors on every paginated route', () => {
  it('a junk cursor, or one of another list, is a 400 problem; a real one pages on', async () => {
    const tenant = newTenantId('cursor');
    const { apiKey } = await server.createTenant(tenant);
    await server.createTenant(newTenantId('cursor'));
    for (let i = 0; i < 3; i++) {
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: '{"input":{}}',
      });
      expect(res.status).toBe(202);
    }
    const routes = [
      {
        path: '/v1/admin/tenants?limit=1',
        token: server.operatorToken,
        other: encodePageCursor('jobs', 'JOB#z'),
      },
      { path: '/v1/jobs?limit=1', token: apiKey, other: encodePageCursor('tenants', tenant) },
      {
        path: '/v1/admin/jobs?limit=1',
        token: server.operatorToken,
        other: encodePageCursor('jobs', 'JOB#z'),
      },
    ];
    for (const route of routes) {
      const first = (await (await server.api(route.path, { token: route.token })).json()) as Page;
      expect(first.nextCursor, route.path).toBeDefined();
      const next = await server.api(`${route.path}&cursor=${encodeURIComponent(first.nextCursor!)}`, {
        token: route.token,
      });
      expect(next.status, route.path).toBe(200);
      expect(((await next.json()) as Page).items).toHaveLength(1);
      for (const junk of [
        'zzzz',
        'YQ',
        Buffer.from('TENANT#a').toString('base64url'),
        'm.W10',
        route.other,
      ]) {
        const res = await server.api(`${route.path}&cursor=${encodeURIComponent(junk)}`, {
          token: route.token,
        });
        expect(res.status, `${route.path} ${junk}`).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        const problem = (await res.json()) as { code: string; errors: { path: string }[] };
        expect(problem.code).toBe('validation_failed');
        expect(problem.errors[0]?.path).toBe('/querystring/cursor');
      }
    }
  }, 60_000);
});
