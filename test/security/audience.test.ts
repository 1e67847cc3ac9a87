import { request as httpRequest } from 'node:http';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceAudiences } from '../../src/api/audience.ts';
import { resolveTenant } from '../../src/api/auth/authenticator.ts';
import type { AppDeps } from '../../src/api/deps.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { Principal, Role } from '../../src/core/principal.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// Issue 11, kind 1: an authorization decision made from request text instead of the route that runs.
// Every route the OpenAPI document lists is called with every credential class, its path spelled the ways
// a router may decode, normalise or refuse; whatever the spelling, the route's own audience decides.

let server: TestServer;
let victim: string;
let victimKey: string;
let userToken: string;
let otherKey: string;
let webIndex: string;
let routes: { method: string; template: string; audience: 'public' | 'tenant' | 'operator' }[];

const PUBLIC = new Set(['GET /healthz', 'GET /v1/auth/config']);

beforeAll(async () => {
  server = await startTestServer();
  victim = newTenantId('aud');
  victimKey = (await server.createTenant(victim)).apiKey;
  const other = newTenantId('aud-o');
  otherKey = (await server.createTenant(other)).apiKey;
  userToken = await server.mintToken({ tenants: [other], user: 'mallory' });
  webIndex = await (await server.api('/')).text();
  const spec = (await (await server.api('/docs/json')).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  routes = Object.entries(spec.paths).flatMap(([template, methods]) =>
    Object.keys(methods).map((m) => {
      const method = m.toUpperCase();
      const audience = PUBLIC.has(`${method} ${template}`)
        ? ('public' as const)
        : template.startsWith('/v1/admin') || template === '/metrics'
          ? ('operator' as const)
          : ('tenant' as const);
      return { method, template, audience };
    }),
  );
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** One HTTP request with the path sent exactly as written: no client-side URL normalisation. */
function raw(
  method: string,
  path: string,
  token?: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        // The web app's page (served for any unknown GET outside /v1/) is public and runs no route: a 404 here.
        res.on('end', () => resolve({ status: text === webIndex ? 404 : (res.statusCode ?? 0), text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function concrete(template: string): string {
  return template
    .replace('{model}', 'finance')
    .replace('{name}', 'workbook.xlsx')
    .replace(/\{id\}/g, (_m, offset: number) =>
      template.startsWith('/v1/admin/tenants') && offset < 20 ? victim : 'j_x',
    )
    .replace(/\{keyId\}/g, 'k_x');
}

const hex = (c: string) => c.charCodeAt(0).toString(16);

/**
 * Spellings of one path: each first letter of a segment percent-encoded (lower and upper hex), a whole
 * segment encoded, doubled and trailing slashes, dot segments, case, matrix and query suffixes, double
 * encoding. Some the router decodes to the same route, some it does not route at all.
 */
function spellings(path: string): string[] {
  const segments = path.split('/');
  const out = new Set<string>([path, `${path}?x=1`, `/${path}`, `${path}/`, path.toUpperCase(), `${path};x`]);
  segments.forEach((segment, i) => {
    if (!/^[a-z]/.test(segment)) return;
    const first = segment[0] as string;
    const at = (s: string) => segments.map((x, j) => (j === i ? s : x)).join('/');
    out.add(at(`%${hex(first)}${segment.slice(1)}`));
    out.add(at(`%${hex(first).toUpperCase()}${segment.slice(1)}`));
    out.add(at([...segment].map((c) => `%${hex(c)}`).join('')));
    out.add(at(`%25${hex(first)}${segment.slice(1)}`));
    out.add(at(`./${segment}`));
  });
  return [...out];
}

describe('every route, every credential class, every spelling', () => {
  it('lists the routes it attacks (a route the document lists is never skipped)', () => {
    expect(routes.length).toBeGreaterThan(25);
    expect(routes.filter((r) => r.audience === 'operator').length).toBeGreaterThan(15);
  });

  const classes = ['no credential', 'another tenant API key', 'tenant user JWT'] as const;
  for (const credential of classes) {
    it(`operator routes refuse ${credential}, however the path is spelled`, async () => {
      const token =
        credential === 'no credential' ? undefined : credential === 'tenant user JWT' ? userToken : otherKey;
      const refused = credential === 'no credential' ? 401 : 403;
      let routed = 0;
      for (const route of routes.filter((r) => r.audience === 'operator')) {
        const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}';
        for (const path of spellings(concrete(route.template))) {
          const res = await raw(route.method, path, token, body);
          const where = `${route.method} ${path} with ${credential}`;
          // Either the router runs this route (and its audience refuses) or it runs none at all.
          expect([refused, 404, 400], `${where} → ${res.status} ${res.text.slice(0, 200)}`).toContain(
            res.status,
          );
          if (res.status === refused) routed++;
        }
      }
      // The decoded spellings really did reach routes: the refusals above are the audience's, not 404s.
      expect(routed).toBeGreaterThan(100);
    });
  }

  it('tenant routes refuse a request without a credential, however the path is spelled', async () => {
    for (const route of routes.filter((r) => r.audience === 'tenant')) {
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{"input":{}}';
      for (const path of spellings(concrete(route.template))) {
        const res = await raw(route.method, path, undefined, body);
        expect([401, 404, 400], `${route.method} ${path} → ${res.status}`).toContain(res.status);
      }
    }
  });

  it('the reported request: POST /v1/%61dmin/tokens without a credential mints nothing', async () => {
    const body = JSON.stringify({
      tenants: [victim],
      user: 'm',
      roles: ['operator', 'user'],
      expiresIn: '1h',
    });
    for (const path of [
      '/v1/%61dmin/tokens',
      '/%761/admin/tokens',
      '/v1/adm%69n/tokens',
      '/v1/%61%64%6d%69%6e/tokens',
    ]) {
      const res = await raw('POST', path, undefined, body);
      expect(res.status, path).toBe(401);
      expect(res.text).not.toMatch(/eyJ/);
    }
    for (const path of ['/%761/admin/tenants', '/v1/adm%69n/tenants']) {
      const res = await raw('GET', path);
      expect(res.status, path).toBe(401);
      expect(res.text).not.toContain(victim);
    }
  });

  it('an operator token grants no tenant: every tenant route refuses it, even with x-tenant-id naming one', async () => {
    // The server's operator token is what `silopool token --role operator` mints: roles [operator], no tenant.
    let refused = 0;
    for (const route of routes.filter((r) => r.audience === 'tenant')) {
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{"input":{}}';
      for (const tenant of [undefined, victim]) {
        const res = await server.api(concrete(route.template), {
          method: route.method,
          token: server.operatorToken,
          ...(tenant ? { tenant } : {}),
          ...(body ? { body } : {}),
        });
        const text = await res.text();
        if (route.template === '/v1/me') {
          // Who it is, and that it grants no tenant.
          expect(JSON.parse(text)).toMatchObject({ roles: ['operator'], tenants: [] });
          continue;
        }
        // A body the route's schema refuses is a 400 before the handler looks for a tenant.
        if (res.status === 400) expect(JSON.parse(text)).toMatchObject({ code: 'validation_failed' });
        else expect(res.status, `${route.method} ${route.template} as ${tenant ?? 'no tenant'}`).toBe(403);
        expect(text).not.toContain(victim);
        if (res.status === 403) refused++;
      }
    }
    expect(refused).toBeGreaterThan(20);
  });

  it('a scrape token (role metrics) reaches GET /metrics and is refused by every other route', async () => {
    // What `silopool token --role metrics` mints for Prometheus: a leaked scrape token reads metrics only.
    const scrape = await server.mintToken({ tenants: [], user: 'prometheus', roles: ['metrics'] });
    const metrics = await server.api('/metrics', { token: scrape });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^# (HELP|TYPE) silopool_/m);
    let refused = 0;
    for (const route of routes.filter((r) => r.audience !== 'public' && r.template !== '/metrics')) {
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{"input":{}}';
      for (const tenant of [undefined, victim]) {
        const res = await server.api(concrete(route.template), {
          method: route.method,
          token: scrape,
          ...(tenant ? { tenant } : {}),
          ...(body ? { body } : {}),
        });
        const text = await res.text();
        // Refused before the route's schema or handler runs: never a 400, never an answer.
        expect(res.status, `${route.method} ${route.template} as ${tenant ?? 'no tenant'}: ${text}`).toBe(
          403,
        );
        // The problem's `instance` echoes the request path (which may name the tenant): nothing else may.
        expect(text.replace(/"instance":"[^"]*"/, '')).not.toContain(victim);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(2 * 40);
  });

  it('a scrape credential that also names a tenant (an external IdP may issue one) is granted no tenant', async () => {
    const principal: Principal = {
      subject: 'prometheus',
      roles: new Set<Role>(['metrics']),
      tenants: new Set([victim as TenantId]),
      via: 'jwt',
      binding: { kind: 'issued-at', issuedAtSec: Math.floor(Date.now() / 1000) + 60 },
    };
    const directory = { get: async () => undefined } as unknown as TenantDirectory;
    await expect(resolveTenant(principal, victim, directory)).rejects.toThrow(
      /metrics credential grants no tenant/,
    );
    await expect(resolveTenant(principal, undefined, directory)).rejects.toThrow(/metrics credential/);
  });

  it('an operator token still reaches GET /metrics', async () => {
    const res = await server.api('/metrics', { token: server.operatorToken });
    expect(res.status).toBe(200);
  });

  it('a scrape token is minted alone: with another role or a tenant it is refused (400 naming the field)', async () => {
    for (const [claims, path] of [
      [{ tenants: [], roles: ['metrics', 'operator'] }, '/body/roles'],
      [{ tenants: [], roles: ['user', 'metrics'] }, '/body/roles'],
      [{ tenants: [victim], roles: ['metrics'] }, '/body/tenants'],
    ] as const) {
      const res = await server.api('/v1/admin/tokens', {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ ...claims, user: 'prometheus' }),
      });
      expect(res.status, JSON.stringify(claims)).toBe(400);
      const problem = (await res.json()) as { code: string; errors: { path: string }[] };
      expect(problem.code).toBe('validation_failed');
      expect(problem.errors.map((e) => e.path)).toEqual([path]);
    }
  });

  it('an operator credential reaches the operator routes (the guard is not refusing everything)', async () => {
    const res = await raw('GET', '/v1/%61dmin/tenants', server.operatorToken);
    expect(res.status).toBe(200);
    expect(res.text).toContain(victim);
  });

  it('public routes answer without a credential', async () => {
    for (const path of ['/healthz', '/v1/auth/config', '/docs/json', '/docs']) {
      const res = await raw('GET', path);
      expect([200, 302], path).toContain(res.status);
    }
  });

  it('after every attack, tenants are served and nothing was created', async () => {
    const submit = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: victimKey,
      body: JSON.stringify({ input: { revenue: 1000, years: 3 } }),
    });
    expect(submit.status).toBe(202);
    const list = (await (await server.api('/v1/admin/tenants', { token: server.operatorToken })).json()) as {
      items: { id: string }[];
    };
    expect(list.items.length).toBe(2);
  });
});

describe('registering a route', () => {
  const deps = {} as AppDeps;
  it('without an audience fails at startup, naming the route', async () => {
    const app = Fastify();
    enforceAudiences(app, deps);
    app.get('/v1/forgotten', async () => ({}));
    await expect(app.ready()).rejects.toThrow(/GET.*\/v1\/forgotten/);
  });

  it('with an unknown audience fails at startup', async () => {
    const app = Fastify();
    enforceAudiences(app, deps);
    app.get('/v1/odd', { config: { audience: 'everyone' as never } }, async () => ({}));
    await expect(app.ready()).rejects.toThrow(/\/v1\/odd/);
  });

  it('with an audience starts', async () => {
    const app = Fastify();
    enforceAudiences(app, deps);
    app.get('/v1/open', { config: { audience: 'public' } }, async () => ({ ok: true }));
    await app.ready();
    expect((await app.inject({ url: '/v1/open' })).statusCode).toBe(200);
    await app.close();
  });
});
