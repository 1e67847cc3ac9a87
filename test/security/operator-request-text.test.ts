import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { rawRequest } from './raw-http.ts';

// Access is decided by the route that runs, never by request text. audience.test.ts spells every documented
// route's path the ways a router decodes; this sends what a proxy or framework elsewhere may read as the
// request's "real" path, method, client or host (X-Original-URL, X-HTTP-Method-Override, X-Forwarded-*,
// Forwarded, an absolute-form target naming another host, encoded slashes, dot segments, backslashes, NUL)
// byte for byte to the real server, without a credential and with a tenant's key: no operator route answers.
let server: TestServer;
let tenant: string;
let tenantKey: string;
let webIndex: string;

beforeAll(async () => {
  server = await startTestServer();
  tenant = newTenantId('rtext');
  tenantKey = (await server.createTenant(tenant)).apiKey;
  webIndex = await (await server.api('/')).text();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

async function send(method: string, target: string, headers: string[] = [], body?: string) {
  const lines = [
    `${method} ${target} HTTP/1.1`,
    'Host: localhost',
    ...headers,
    ...(body !== undefined
      ? ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]
      : []),
    'Connection: close',
  ];
  const res = await rawRequest(server.url, `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
  // The web app's page (any unknown GET outside /v1/) is public and runs no route: a 404 here.
  return res.body === webIndex ? { ...res, status: 404 } : res;
}

const TARGETS = [
  '/v1/admin/tenants',
  'http://localhost/v1/admin/tenants',
  `http://127.0.0.1:1/v1/admin/tenants`,
  '/v1%2Fadmin%2Ftenants',
  '/v1/admin%2Ftenants',
  '%2Fv1/admin/tenants',
  '/v1%2fadmin/tenants',
  '/v1\\admin\\tenants',
  '/v1/admin/./tenants',
  '/v1/x/../admin/tenants',
  '/v1/admin/tenants/..',
  '/v1/admin/tenants/.',
  '/v1/admin//tenants',
  '//v1//admin//tenants',
  '/v1/admin/tenants%00',
  '/v1/admin/tenants%20',
  '/v1/admin/tenants%09',
  '/v1/admin/tenants#x',
  '/v1/admin/tenants?',
  '/v1/admin/tenants;',
  '/v1/ADMIN/TENANTS',
  '/v1/admin/tenants/',
  '/./v1/admin/tenants',
  '/healthz/../v1/admin/tenants',
  '/healthz%2F..%2Fv1/admin/tenants',
  `/v1/admin/tenants/${'%2e%2e'}/tenants`,
];

/** Headers some proxy or framework takes for the request's real path, method, client, host or caller. */
const SPOOFS = [
  'X-Original-URL: /healthz',
  'X-Rewrite-URL: /healthz',
  'X-Forwarded-Prefix: /healthz',
  'X-Forwarded-For: 127.0.0.1',
  'X-Real-IP: 127.0.0.1',
  'Forwarded: for=127.0.0.1;proto=https;host=localhost',
  'X-Forwarded-Host: localhost',
  'X-Forwarded-Proto: https',
  'X-HTTP-Method-Override: OPTIONS',
  'X-Method-Override: HEAD',
  'X-Tenant-Id: _platform',
  'X-Role: operator',
  'X-Silopool-Role: operator',
  'X-Amzn-Oidc-Data: e30.eyJyb2xlcyI6WyJvcGVyYXRvciJdfQ.',
  'X-Apigateway-Event: {"requestContext":{"authorizer":{"jwt":{"claims":{"roles":"operator"}}}}}',
];

describe('operator routes and request text', () => {
  it('no target, method or spoofed header reaches an operator route without an operator credential', async () => {
    let refusedByRoute = 0;
    for (const credential of [undefined, tenantKey]) {
      const auth = credential ? [`Authorization: Bearer ${credential}`] : [];
      for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE']) {
        for (const target of TARGETS) {
          const res = await send(method, target, [...auth, ...SPOOFS]);
          const where = `${method} ${target} (${credential ? "a tenant's key" : 'no credential'}) → ${res.status} ${res.body.slice(0, 160)}`;
          expect([400, 401, 403, 404], where).toContain(res.status);
          expect(res.body, where).not.toContain(tenant);
          if (res.status === (credential ? 403 : 401)) refusedByRoute++;
        }
      }
    }
    // The spellings that route did run the operator route (refused by its audience), not only 404s.
    expect(refusedByRoute).toBeGreaterThan(20);
  });

  it('a token is never minted, nor a tenant created, through any of them', async () => {
    const created = newTenantId('rtext-new');
    let refusedByRoute = 0;
    for (const target of TARGETS) {
      for (const [path, body] of [
        ['tokens', JSON.stringify({ tenants: [tenant], roles: ['operator'], user: 'mallory' })],
        ['tenants', JSON.stringify({ id: created, name: 'Mallory' })],
      ] as const) {
        const res = await send('POST', target.replace(/tenants(?!.*tenants)/i, path), SPOOFS, body);
        expect([400, 401, 404, 415], `POST ${target} → ${res.status} ${res.body.slice(0, 160)}`).toContain(
          res.status,
        );
        if (res.status === 401) refusedByRoute++;
      }
    }
    expect(refusedByRoute).toBeGreaterThan(5);
    const listed = await server.api(`/v1/admin/tenants/${created}`, { token: server.operatorToken });
    expect(listed.status).toBe(404);
  });

  it("a public route's operator-only figures stay hidden whatever the headers say (GET /healthz)", async () => {
    for (const credential of [undefined, tenantKey]) {
      const res = await send('GET', '/healthz', [
        ...(credential ? [`Authorization: Bearer ${credential}`] : []),
        ...SPOOFS,
        'X-Original-URL: /metrics',
      ]);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    }
    // The same route shows them to an operator: the figures exist, the check is not refusing everyone.
    const op = await send('GET', '/healthz', [`Authorization: Bearer ${server.operatorToken}`]);
    expect(JSON.parse(op.body)).toHaveProperty('disk');
  });
});
