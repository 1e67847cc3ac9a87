import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQueue } from '../../src/control/lanes.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { type AwsPorts, createAwsPorts } from '../../src/entry/aws-wiring.ts';
import { listModels } from '../../src/models/registry.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { newTenantId } from '../support/server.ts';

// The Lambda API is its own app (release, advisor and placement routes added after `buildApp`) behind its
// own routing (@fastify/aws-lambda turns API Gateway events into requests). Every route its OpenAPI
// document lists is called, as API Gateway would hand it over, with no credential, a forged token, a
// tenant user's token and a token naming another tenant: the matched route's audience decides, and a
// tenant's token reaches neither the operator routes nor another tenant's data.
let aws: AwsEmulators;
let ports: AwsPorts;
let jwks: Server;
let sign: (claims: Record<string, unknown>, key?: CryptoKey) => Promise<string>;
let foreignKey: CryptoKey;
let api: (event: unknown, context: unknown) => Promise<unknown>;
let routes: { method: string; template: string; audience: 'public' | 'tenant' | 'operator' }[];

const PUBLIC = new Set(['GET /healthz', 'GET /v1/auth/config']);

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

beforeAll(async () => {
  aws = await startAwsEmulators();
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  foreignKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  sign = (claims, key = privateKey) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience('silopool-client')
      .setSubject(String(claims.sub ?? 'someone'))
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  Object.assign(process.env, await aws.platformEnv(), {
    SILOPOOL_OIDC_ISSUER: issuer,
    SILOPOOL_OIDC_CLIENT_ID: 'silopool-client',
    SILOPOOL_OIDC_JWKS_URL: `${issuer}/.well-known/jwks.json`,
    SILOPOOL_MOVE_RUNNER: 'scheduled',
  });
  ports = createAwsPorts(process.env);
  for (const model of listModels()) await ensureQueue(ports.queue, sharedQueueName(model.name));
  ({ handler: api } = (await import('../../src/entry/lambda-api.ts')) as never);
  const spec = JSON.parse((await call('GET', '/docs/json')).body) as {
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
  await ports?.close();
  await aws?.stop();
  await new Promise((r) => jwks?.close(r));
});

/** An API Gateway HTTP API (payload 2.0) event, the path handed over exactly as written. */
async function call(method: string, path: string, token?: string, body?: string): Promise<Answer> {
  const [rawPath, rawQueryString = ''] = path.split('?');
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: {
      host: 'api.example.com',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      domainName: 'api.example.com',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: `r-${Math.random()}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
    ...(body !== undefined ? { body } : {}),
  };
  return (await api(event, { getRemainingTimeInMillis: () => 30_000 })) as Answer;
}

/** A template with its parameters filled (a job id, a tenant id, a release id, …). */
function concrete(template: string, tenant: string): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) =>
    name === 'tenantId' || (name === 'id' && template.startsWith('/v1/admin/tenants/')) ? tenant : 'x1',
  );
}

/** Spellings a router may decode or normalise: the matched route's audience must decide for each. */
function spellings(path: string): string[] {
  const out = new Set([path, `${path}/`, path.replace('/v1/', '/v1//'), path.replace(/\/(\w)/, '/%$1')]);
  out.add(path.replace(/\/([a-z])/g, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`));
  return [...out].filter((p) => !p.includes('/%/'));
}

describe('every route of the Lambda API', () => {
  it('lists the release, advisor and placement routes the Lambda adds', () => {
    const names = routes.map((r) => `${r.method} ${r.template}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /v1/admin/releases',
        'POST /v1/admin/releases/{id}/rollout',
        'PUT /v1/admin/tenants/{id}/pins',
        'PUT /v1/admin/tenants/{id}/region',
        'GET /v1/admin/rollouts',
        'GET /v1/admin/advisor',
      ]),
    );
    expect(routes.filter((r) => r.audience === 'operator').length).toBeGreaterThan(20);
  });

  it('operator routes refuse no credential, a forged token, a tenant user and a tenant claiming operator by name', async () => {
    const victim = newTenantId('lv');
    const user = await sign({ sub: 'mallory', 'custom:tenants': victim, 'cognito:groups': ['user'] });
    // Claims an operator role, but signed by a key the issuer never published.
    const forged = await sign({ sub: 'mallory', 'cognito:groups': ['operator'] }, foreignKey);
    // The operator role under a claim the API does not read for roles.
    const wrongClaim = await sign({ sub: 'mallory', 'custom:tenants': victim, roles: ['operator'] });
    const credentials: [string, string | undefined, number][] = [
      ['none', undefined, 401],
      ['forged', forged, 401],
      ['user', user, 403],
      ['roles claim', wrongClaim, 403],
    ];
    let refused = 0;
    for (const route of routes.filter((r) => r.audience === 'operator')) {
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}';
      for (const path of spellings(concrete(route.template, victim))) {
        for (const [name, token, status] of credentials) {
          const res = await call(route.method, path, token, body);
          const where = `${route.method} ${path} with ${name} → ${res.statusCode} ${res.body.slice(0, 200)}`;
          expect([status, 404, 400], where).toContain(res.statusCode);
          if (res.statusCode === status) refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(200);
  }, 120_000);

  it('tenant routes refuse no credential and a forged token', async () => {
    const forged = await sign({ sub: 'mallory', 'custom:tenants': 'acme' }, foreignKey);
    for (const route of routes.filter((r) => r.audience === 'tenant')) {
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{"input":{}}';
      for (const token of [undefined, forged, 'sp_live_x']) {
        const res = await call(route.method, concrete(route.template, 'acme'), token, body);
        expect([401, 404, 400], `${route.method} ${route.template} → ${res.statusCode}`).toContain(
          res.statusCode,
        );
      }
    }
  }, 120_000);

  it("a tenant's user cannot change its own release pins or region, nor read the releases", async () => {
    const operator = await sign({ sub: 'ops', 'cognito:groups': ['operator'] });
    const id = newTenantId('lpin');
    expect(
      (await call('POST', '/v1/admin/tenants', operator, JSON.stringify({ id, name: 'P' }))).statusCode,
    ).toBe(201);
    const user = await sign({ sub: 'alice', 'custom:tenants': id, 'cognito:groups': ['user'] });
    for (const [method, path, body] of [
      ['PUT', `/v1/admin/tenants/${id}/pins`, '{"pins":{"finance":"1.0.0"}}'],
      ['PUT', `/v1/admin/tenants/${id}/region`, '{"region":"eu-west-1"}'],
      ['POST', '/v1/admin/releases/builtin/rollout', '{}'],
      ['GET', '/v1/admin/releases', undefined],
      ['GET', '/v1/admin/rollouts', undefined],
    ] as const) {
      expect((await call(method, path, user, body)).statusCode, `${method} ${path}`).toBe(403);
    }
    const tenant = JSON.parse((await call('GET', `/v1/admin/tenants/${id}`, operator)).body) as Record<
      string,
      unknown
    >;
    expect(tenant.pins).toBeUndefined();
    expect(tenant.region).toBeUndefined();
  }, 60_000);
});
