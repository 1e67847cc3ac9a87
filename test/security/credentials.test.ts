import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { decodeJwt, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { offboardTenant } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// Issue 11, kind 4: credentials that cannot be taken back. API keys are listed without secrets, revoked and
// rotated; minted tokens have a bounded life; tokens without `exp` are refused; a credential of a tenant
// that was offboarded grants nothing to a new tenant created later under the same id.
// After every case another tenant must still be served as before.

let server: TestServer;
let jwks: Server;
let oidcIssuer: string;
let oidcKey: CryptoKey;
let bystander: { id: string; apiKey: string; token: string };

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  oidcKey = pair.privateKey as CryptoKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'ext-1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  oidcIssuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  server = await startTestServer({
    env: {
      OIDC_ISSUER: oidcIssuer,
      OIDC_JWKS_URL: `${oidcIssuer}/jwks.json`,
      OIDC_AUDIENCE: 'silopool-test',
      OIDC_TENANTS_CLAIM: 'custom:tenants',
      OIDC_ROLES_CLAIM: 'cognito:groups',
    },
  });
  const id = newTenantId('bystander');
  const { apiKey } = await server.createTenant(id);
  bystander = { id, apiKey, token: await server.mintToken({ tenants: [id], user: 'bea' }) };
}, 60_000);
afterAll(async () => {
  await server?.stop();
  jwks?.close();
});

afterEach(async () => {
  for (const token of [bystander.apiKey, bystander.token]) {
    const res = await server.api('/v1/jobs', { token, tenant: bystander.id });
    expect(res.status, 'another tenant is still served').toBe(200);
  }
  const keys = await listKeys(bystander.id);
  expect(keys).toHaveLength(1);
});

interface KeyView {
  id: string;
  prefix: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
}

async function listKeys(tenant: string): Promise<KeyView[]> {
  const res = await server.api(`/v1/admin/tenants/${tenant}/api-keys`, { token: server.operatorToken });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: KeyView[] }).items;
}

function status(path: string, token: string, tenant?: string): Promise<number> {
  return server.api(path, { token, ...(tenant ? { tenant } : {}) }).then((r) => r.status);
}

function rotate(tenant: string, keyId: string, body: unknown = {}, token = server.operatorToken) {
  return server.api(`/v1/admin/tenants/${tenant}/api-keys/${keyId}/rotate`, {
    method: 'POST',
    token,
    body: JSON.stringify(body),
  });
}

function revoke(tenant: string, keyId: string, token = server.operatorToken) {
  return server.api(`/v1/admin/tenants/${tenant}/api-keys/${keyId}`, { method: 'DELETE', token });
}

function mint(body: Record<string, unknown>) {
  return server.api('/v1/admin/tokens', {
    method: 'POST',
    token: server.operatorToken,
    body: JSON.stringify(body),
  });
}

async function expectFieldProblem(res: Response, path: string): Promise<void> {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = (await res.json()) as { errors?: { path: string }[] };
  expect(body.errors?.map((e) => e.path)).toContain(path);
}

/** Offboards the tenant to the end (an operation: 202, then followed until it succeeded). */
const offboard = (tenant: string) => offboardTenant(server, tenant);

/** A token signed with the server's own embedded key, as a token minted before the rules were would be. */
async function embeddedToken(claims: Record<string, unknown>, build: (jwt: SignJWT) => SignJWT) {
  const jwk = JSON.parse(readFileSync(join(server.dataDir, 'keys', 'jwt-signing.jwk.json'), 'utf8')) as JWK;
  const key = await importJWK(jwk, 'ES256');
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid ?? 'embedded' })
    .setSubject('old')
    .setIssuer('urn:silopool:embedded')
    .setAudience('silopool');
  return build(jwt).sign(key);
}

function oidcToken(tenant: string, build: (jwt: SignJWT) => SignJWT): Promise<string> {
  const jwt = new SignJWT({ 'custom:tenants': tenant, 'cognito:groups': ['user'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'ext-1' })
    .setSubject('bob@example.com')
    .setIssuer(oidcIssuer)
    .setAudience('silopool-test');
  return build(jwt).sign(oidcKey);
}

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('API keys: list, revoke, rotate', () => {
  it('lists keys by id and prefix, never the secret or its hash', async () => {
    const tenant = newTenantId('keys');
    const { apiKey } = await server.createTenant(tenant);
    const res = await server.api(`/v1/admin/tenants/${tenant}/api-keys`, { token: server.operatorToken });
    const text = await res.text();
    expect(text).not.toContain(apiKey);
    expect(text).not.toContain(apiKey.slice(-20));
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    const { items } = JSON.parse(text) as { items: (KeyView & Record<string, unknown>)[] };
    expect(items).toHaveLength(1);
    expect(Object.keys(items[0]!).sort()).toEqual(['createdAt', 'id', 'prefix']);
    expect(apiKey.startsWith(items[0]!.prefix)).toBe(true);
    expect(items[0]!.prefix.length).toBeLessThan(apiKey.length - 30);
  });

  it('shows when a key was last used', async () => {
    const tenant = newTenantId('keys');
    const { apiKey } = await server.createTenant(tenant);
    expect(await status('/v1/jobs', apiKey)).toBe(200);
    const [key] = await listKeys(tenant);
    expect(Date.now() - Date.parse(key!.lastUsedAt!)).toBeLessThan(60_000);
  });

  it('a revoked key answers 401 on the very next request; the tenant other keys keep working', async () => {
    const tenant = newTenantId('keys');
    const { apiKey } = await server.createTenant(tenant);
    const second = (await (
      await server.api(`/v1/admin/tenants/${tenant}/api-keys`, {
        method: 'POST',
        token: server.operatorToken,
      })
    ).json()) as { apiKey: string };
    expect(await status('/v1/jobs', apiKey)).toBe(200);
    const keys = await listKeys(tenant);
    expect(keys).toHaveLength(2);
    const first = keys.find((k) => apiKey.startsWith(k.prefix))!;
    expect((await revoke(tenant, first.id)).status).toBe(204);
    expect(await status('/v1/jobs', apiKey)).toBe(401);
    expect(await status('/v1/me', apiKey)).toBe(401);
    expect(await status('/v1/jobs', second.apiKey)).toBe(200);
    expect((await listKeys(tenant)).map((k) => k.id)).not.toContain(first.id);
  });

  it('revoking an unknown, already revoked or other tenant key answers 404 and changes nothing', async () => {
    const tenant = newTenantId('keys');
    const { apiKey } = await server.createTenant(tenant);
    const [key] = await listKeys(tenant);
    expect((await revoke(tenant, 'nosuchkey')).status).toBe(404);
    expect((await revoke(bystander.id, key!.id)).status).toBe(404);
    expect(await status('/v1/jobs', apiKey)).toBe(200);
    expect((await revoke(tenant, key!.id)).status).toBe(204);
    expect((await revoke(tenant, key!.id)).status).toBe(404);
    expect((await revoke(newTenantId('ghost'), key!.id)).status).toBe(404);
  });

  it('rotation without grace: the new key works, the old one is refused at once', async () => {
    const tenant = newTenantId('keys');
    const { apiKey } = await server.createTenant(tenant);
    const [old] = await listKeys(tenant);
    const res = await rotate(tenant, old!.id);
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(text).not.toMatch(/[0-9a-f]{64}|"hash"/);
    const body = JSON.parse(text) as {
      apiKey: string;
      key: KeyView;
      replaced: KeyView & { revoked: boolean };
    };
    expect(body.replaced).toMatchObject({ id: old!.id, revoked: true });
    expect(body.apiKey.startsWith(body.key.prefix)).toBe(true);
    expect(await status('/v1/jobs', apiKey)).toBe(401);
    expect(await status('/v1/jobs', body.apiKey)).toBe(200);
    expect((await listKeys(tenant)).map((k) => k.id)).toEqual([body.key.id]);
  });

  it('rotation with a grace period: the old key works until it ends, then answers 401', async () => {
    const tenant = newTenantId('keys');
    const { apiKey } = await server.createTenant(tenant);
    const [old] = await listKeys(tenant);
    const asked = Date.now();
    const res = await rotate(tenant, old!.id, { graceSeconds: 5 });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { apiKey: string; replaced: KeyView & { revoked: boolean } };
    expect(body.replaced.revoked).toBe(false);
    // The grace runs from the rotation: it ends 5 s after a moment between the request and its answer.
    const expiresAt = Date.parse(body.replaced.expiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(asked + 5000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 5000);
    expect(await status('/v1/jobs', apiKey)).toBe(200);
    expect(await status('/v1/jobs', body.apiKey)).toBe(200);
    // Both answers came within the grace (5 s: far above what two requests take on a loaded machine), so
    // the old key's 200 is the grace's doing.
    expect(Date.now()).toBeLessThan(expiresAt);
    await sleep(expiresAt - Date.now() + 100);
    expect(await status('/v1/jobs', apiKey)).toBe(401);
    expect(await status('/v1/jobs', body.apiKey)).toBe(200);
    expect(await listKeys(tenant)).toHaveLength(1);
    // A key whose grace period ended cannot be rotated again.
    expect((await rotate(tenant, old!.id)).status).toBe(404);
  });

  it('refuses a grace period that is negative, fractional, beyond 7 days or not a number (400)', async () => {
    const tenant = newTenantId('keys');
    const { apiKey } = await server.createTenant(tenant);
    const [key] = await listKeys(tenant);
    for (const graceSeconds of [-1, 1.5, 7 * 86_400 + 1, 'soon', [1, 2]]) {
      await expectFieldProblem(await rotate(tenant, key!.id, { graceSeconds }), '/body/graceSeconds');
    }
    await expectFieldProblem(await rotate(tenant, key!.id, { grace: 1 }), '/body/grace');
    expect(await status('/v1/jobs', apiKey)).toBe(200);
    expect(await listKeys(tenant)).toHaveLength(1);
  });

  it('a tenant user or API key cannot list, revoke or rotate keys (403), and without a credential 401', async () => {
    const tenant = newTenantId('keys');
    const { apiKey } = await server.createTenant(tenant);
    const [key] = await listKeys(tenant);
    const user = await server.mintToken({ tenants: [tenant], user: 'mallory' });
    for (const token of [user, apiKey]) {
      expect((await server.api(`/v1/admin/tenants/${tenant}/api-keys`, { token })).status).toBe(403);
      expect((await revoke(tenant, key!.id, token)).status).toBe(403);
      expect((await rotate(tenant, key!.id, {}, token)).status).toBe(403);
    }
    expect((await server.api(`/v1/admin/tenants/${tenant}/api-keys`)).status).toBe(401);
    expect(
      (await server.api(`/v1/admin/tenants/${tenant}/api-keys/${key!.id}`, { method: 'DELETE' })).status,
    ).toBe(401);
    expect(await status('/v1/jobs', apiKey)).toBe(200);
    expect((await listKeys(tenant)).map((k) => k.id)).toEqual([key!.id]);
  });
});

describe('token lifetimes', () => {
  it('refuses expiresIn 9999d with 400 naming /expiresIn', async () => {
    const tenant = newTenantId('life');
    await server.createTenant(tenant);
    await expectFieldProblem(
      await mint({ tenants: [tenant], user: 'm', expiresIn: '9999d' }),
      '/body/expiresIn',
    );
    await expectFieldProblem(
      await mint({ tenants: [tenant], user: 'm', roles: ['operator', 'user'], expiresIn: '9999d' }),
      '/body/expiresIn',
    );
  });

  it('mints up to the maximum lifetime (24h) and not a second beyond', async () => {
    const tenant = newTenantId('life');
    await server.createTenant(tenant);
    for (const expiresIn of ['24h', '1440m', '86400s', '1d']) {
      const res = await mint({ tenants: [tenant], user: 'm', expiresIn });
      expect(res.status, expiresIn).toBe(200);
      const claims = decodeJwt(((await res.json()) as { token: string }).token);
      expect(claims.exp! - claims.iat!).toBe(86_400);
    }
    for (const expiresIn of ['25h', '1441m', '86401s', '2d']) {
      await expectFieldProblem(await mint({ tenants: [tenant], user: 'm', expiresIn }), '/body/expiresIn');
    }
  });

  it('refuses malformed lifetimes with 400', async () => {
    for (const expiresIn of ['1y', '12', '-1h', '0s', ' 1h', '1h30m', '1.5h', '', 'P1D', 12, null]) {
      await expectFieldProblem(
        await mint({ tenants: [bystander.id], user: 'm', expiresIn }),
        '/body/expiresIn',
      );
    }
  });

  it('gives a token without expiresIn the default life (1h), and the operator login token 12h', async () => {
    const res = await mint({ tenants: [bystander.id], user: 'm' });
    const claims = decodeJwt(((await res.json()) as { token: string }).token);
    expect(claims.exp! - claims.iat!).toBe(3600);
    const operator = decodeJwt(server.operatorToken);
    expect(operator.exp! - operator.iat!).toBe(12 * 3600);
  });

  it('refuses an embedded token older than the longest lifetime, even if its exp is far away (401)', async () => {
    const tenant = newTenantId('life');
    await server.createTenant(tenant);
    const ancient = await embeddedToken({ tenants: [tenant], roles: ['operator', 'user'] }, (jwt) =>
      jwt.setIssuedAt(now() - 25 * 3600).setExpirationTime(now() + 9000 * 86_400),
    );
    expect(await status('/v1/admin/tenants', ancient)).toBe(401);
    expect(await status('/v1/me', ancient)).toBe(401);
  });

  it('refuses an embedded token without exp or without iat (401)', async () => {
    const noExp = await embeddedToken({ tenants: [], roles: ['operator'] }, (jwt) => jwt.setIssuedAt());
    const noIat = await embeddedToken({ tenants: [], roles: ['operator'] }, (jwt) =>
      jwt.setExpirationTime('1h'),
    );
    expect(await status('/v1/admin/tenants', noExp)).toBe(401);
    expect(await status('/v1/admin/tenants', noIat)).toBe(401);
  });
});

describe('external OIDC tokens', () => {
  it('accepts a well-formed token issued after the tenant was created', async () => {
    const tenant = newTenantId('oidc');
    await server.createTenant(tenant);
    const token = await oidcToken(tenant, (jwt) => jwt.setIssuedAt().setExpirationTime('5m'));
    expect(await status('/v1/jobs', token, tenant)).toBe(200);
  });

  it('refuses a token without exp (401)', async () => {
    const tenant = newTenantId('oidc');
    await server.createTenant(tenant);
    const token = await oidcToken(tenant, (jwt) => jwt.setIssuedAt());
    expect(await status('/v1/jobs', token, tenant)).toBe(401);
  });

  it('refuses a token without iat, with iat in the future, or not yet valid (nbf) (401)', async () => {
    const tenant = newTenantId('oidc');
    await server.createTenant(tenant);
    const tokens = await Promise.all([
      oidcToken(tenant, (jwt) => jwt.setExpirationTime('5m')),
      oidcToken(tenant, (jwt) => jwt.setIssuedAt(now() + 600).setExpirationTime(now() + 900)),
      oidcToken(tenant, (jwt) =>
        jwt
          .setIssuedAt()
          .setNotBefore(now() + 600)
          .setExpirationTime('20m'),
      ),
    ]);
    for (const token of tokens) expect(await status('/v1/jobs', token, tenant)).toBe(401);
  });

  it('refuses a token issued more than a day ago, whatever its exp (401)', async () => {
    const tenant = newTenantId('oidc');
    await server.createTenant(tenant);
    const token = await oidcToken(tenant, (jwt) =>
      jwt.setIssuedAt(now() - 25 * 3600).setExpirationTime(now() + 365 * 86_400),
    );
    expect(await status('/v1/jobs', token, tenant)).toBe(401);
  });

  it('a token issued before the tenant was created does not grant it (403)', async () => {
    const tenant = newTenantId('oidc');
    const early = await oidcToken(tenant, (jwt) => jwt.setIssuedAt(now() - 60).setExpirationTime('5m'));
    await server.createTenant(tenant);
    expect(await status('/v1/jobs', early, tenant)).toBe(403);
    const me = (await (await server.api('/v1/me', { token: early })).json()) as { tenants: unknown[] };
    expect(me.tenants).toEqual([]);
  });
});

describe('a tenant id reused after offboarding', () => {
  it("the old tenant's token does not work for the new tenant (403); a new token does", async () => {
    const victim = newTenantId('victim');
    await server.createTenant(victim);
    const old = await server.mintToken({ tenants: [victim], user: 'v' });
    expect(await status('/v1/jobs', old, victim)).toBe(200);
    await offboard(victim);
    await server.createTenant(victim);
    expect(await status('/v1/jobs', old, victim)).toBe(403);
    expect(
      (
        await server.api('/v1/models/finance/jobs', {
          method: 'POST',
          token: old,
          tenant: victim,
          body: '{"input":{}}',
        })
      ).status,
    ).toBe(403);
    const me = (await (await server.api('/v1/me', { token: old })).json()) as { tenants: unknown[] };
    expect(me.tenants).toEqual([]);
    const fresh = await server.mintToken({ tenants: [victim], user: 'v' });
    expect(await status('/v1/jobs', fresh, victim)).toBe(200);
  });

  it("the old tenant's API key is refused (401); the new tenant's key works", async () => {
    const victim = newTenantId('victim');
    const { apiKey: oldKey } = await server.createTenant(victim);
    await offboard(victim);
    expect(await status('/v1/jobs', oldKey)).toBe(401);
    const { apiKey: newKey } = await server.createTenant(victim);
    expect(await status('/v1/jobs', oldKey)).toBe(401);
    expect(await status('/v1/jobs', oldKey, victim)).toBe(401);
    expect(await status('/v1/jobs', newKey)).toBe(200);
  });

  it('an external token issued before the re-creation does not grant the new tenant (403)', async () => {
    const victim = newTenantId('victim');
    await server.createTenant(victim);
    const old = await oidcToken(victim, (jwt) => jwt.setIssuedAt().setExpirationTime('5m'));
    expect(await status('/v1/jobs', old, victim)).toBe(200);
    await offboard(victim);
    await sleep(1000);
    await server.createTenant(victim);
    expect(await status('/v1/jobs', old, victim)).toBe(403);
  });

  it('a token minted for a tenant that did not exist yet never grants it (403)', async () => {
    const later = newTenantId('later');
    const early = await server.mintToken({ tenants: [later], user: 'e' });
    await server.createTenant(later);
    expect(await status('/v1/jobs', early, later)).toBe(403);
  });

  it('a token for several tenants keeps the ones that were not re-created', async () => {
    const victim = newTenantId('victim');
    await server.createTenant(victim);
    const both = await server.mintToken({ tenants: [victim, bystander.id], user: 'v' });
    await offboard(victim);
    await server.createTenant(victim);
    expect(await status('/v1/jobs', both, victim)).toBe(403);
    expect(await status('/v1/jobs', both, bystander.id)).toBe(200);
  });
});

describe('the operator login token', () => {
  it('expires with SILOPOOL_OPERATOR_TOKEN_LIFETIME, and DATA_DIR/operator-token is renewed before it does', async () => {
    const short = await startTestServer({ env: { SILOPOOL_OPERATOR_TOKEN_LIFETIME: '3s' } });
    try {
      const first = short.operatorToken;
      const claims = decodeJwt(first);
      expect(claims.exp! - claims.iat!).toBe(3);
      expect((await short.api('/v1/admin/tenants', { token: first })).status).toBe(200);
      await sleep(3100);
      expect((await short.api('/v1/admin/tenants', { token: first })).status).toBe(401);
      const renewed = readFileSync(join(short.dataDir, 'operator-token'), 'utf8');
      expect(renewed).not.toBe(first);
      expect((await short.api('/v1/admin/tenants', { token: renewed })).status).toBe(200);
    } finally {
      await short.stop();
    }
  });
});
