import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// An external OIDC issuer (as Cognito would be): its JWKS served over HTTP, tenants in a custom claim.
let jwks: Server;
let server: TestServer;
let privateKey: CryptoKey;
let issuer: string;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey as CryptoKey;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'ext-1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  server = await startTestServer({
    env: {
      OIDC_ISSUER: issuer,
      OIDC_JWKS_URL: `${issuer}/jwks.json`,
      OIDC_AUDIENCE: 'silopool-test',
      OIDC_TENANTS_CLAIM: 'custom:tenants',
      OIDC_ROLES_CLAIM: 'cognito:groups',
      OIDC_CLIENT_ID: 'web-client',
    },
  });
});
afterAll(async () => {
  await server?.stop();
  jwks?.close();
});

function externalToken(
  claims: Record<string, unknown>,
  options: { audience?: string; issuer?: string } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'ext-1' })
    .setSubject('bob@example.com')
    .setIssuer(options.issuer ?? issuer)
    .setAudience(options.audience ?? 'silopool-test')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
}

describe('an external OIDC issuer', () => {
  it('is trusted by JWKS, issuer, audience and its tenants claim; the web app learns how to log in', async () => {
    const tenant = newTenantId('oidc');
    await server.createTenant(tenant);
    const token = await externalToken({ 'custom:tenants': tenant, 'cognito:groups': ['user'] });
    const me = await server.api('/v1/me', { token });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      subject: 'bob@example.com',
      roles: ['user'],
      tenants: [{ id: tenant }],
    });
    expect((await server.api('/v1/jobs', { token, tenant })).status).toBe(200);

    const wrongAudience = await externalToken({ 'custom:tenants': tenant }, { audience: 'someone-else' });
    expect((await server.api('/v1/jobs', { token: wrongAudience, tenant })).status).toBe(401);
    const notOperator = await server.api('/v1/admin/tenants', { token });
    expect(notOperator.status).toBe(403);
    const other = newTenantId('other');
    await server.createTenant(other);
    expect((await server.api('/v1/jobs', { token, tenant: other })).status).toBe(403);

    const config = (await (await server.api('/v1/auth/config')).json()) as {
      mode: string;
      oidc: { clientId: string };
    };
    expect(config.mode).toBe('oidc');
    expect(config.oidc.clientId).toBe('web-client');
    // The embedded issuer keeps working beside it (operators, CLI).
    expect((await server.api('/v1/admin/tenants', { token: server.operatorToken })).status).toBe(200);
  });
});
