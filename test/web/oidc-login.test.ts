import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, type TestServer } from '../support/server.ts';
import {
  hasChromium,
  screenshot,
  skipReason,
  startWebSession,
  stopWebSession,
  VIEWPORTS,
} from './browser.ts';

/**
 * A small OpenID provider over real HTTP: authorization code flow with PKCE (S256), a token endpoint the
 * browser calls cross-origin, and a JWKS. It signs in one user, granted one tenant in a custom claim.
 */
async function startIdentityProvider(tenant: string) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const seen: { verifierChecked: boolean } = { verifierChecked: false };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    if (url.pathname === '/authorize') {
      const code = randomBytes(12).toString('hex');
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', async () => {
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        const cors = { 'access-control-allow-origin': '*', 'content-type': 'application/json' };
        if (!grant || grant.challenge !== challenge || grant.redirectUri !== form.get('redirect_uri')) {
          res.writeHead(400, cors).end(JSON.stringify({ error: 'invalid_grant' }));
          return;
        }
        seen.verifierChecked = true;
        const token = await new SignJWT({ 'custom:tenants': [tenant], roles: ['user'] })
          .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
          .setSubject('carol@example.com')
          .setIssuer(issuer)
          .setAudience('silopool-web')
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(privateKey);
        res.writeHead(200, cors).end(JSON.stringify({ access_token: token, token_type: 'Bearer' }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, seen, close: () => server.close() };
}

describe.skipIf(!hasChromium)(
  `single sign-on through an OIDC provider in Chromium${skipReason}`,
  { timeout: 60_000 },
  () => {
    const tenant = newTenantId('sso');
    let idp: Awaited<ReturnType<typeof startIdentityProvider>>;
    let server: TestServer;
    let browser: Browser;

    beforeAll(async () => {
      idp = await startIdentityProvider(tenant);
      ({ server, browser } = await startWebSession({
        OIDC_ISSUER: idp.issuer,
        OIDC_JWKS_URL: `${idp.issuer}/jwks.json`,
        OIDC_AUDIENCE: 'silopool-web',
        OIDC_CLIENT_ID: 'silopool-web',
        OIDC_TENANTS_CLAIM: 'custom:tenants',
        OIDC_AUTHORIZATION_ENDPOINT: `${idp.issuer}/authorize`,
        OIDC_TOKEN_ENDPOINT: `${idp.issuer}/token`,
      }));
      await server.createTenant(tenant, { name: 'SSO Co' });
    });

    afterAll(async () => {
      await stopWebSession(server, browser);
      idp?.close();
    });

    it('signs in with the authorization code flow and PKCE, and lands in the granted tenant', async () => {
      const page = await (await browser.newContext({ viewport: VIEWPORTS.desktop })).newPage();
      await page.goto(`${server.url}/login`);
      await page.getByRole('button', { name: /Sign in with 127\.0\.0\.1/ }).click();
      await page.waitForURL(`**/t/${tenant}/models`);
      await page.getByRole('heading', { name: 'Models' }).waitFor();
      expect(idp.seen.verifierChecked).toBe(true);
      expect(await page.getByText('carol@example.com').count()).toBeGreaterThan(0);
      await screenshot(page, 'portal-after-sso');
      await page.context().close();
    });
  },
);
