import type { AuthConfig } from '../../../src/client/index.ts';

type OidcConfig = NonNullable<AuthConfig['oidc']>;

const PENDING_KEY = 'silopool.oidc.pending';

/** base64url without padding (RFC 4648 §5), as PKCE and OAuth state need. */
export function base64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A code verifier of 43 characters from 32 random bytes (RFC 7636 §4.1 allows 43..128). */
export function createVerifier(): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** S256 challenge: base64url(sha256(verifier)) (RFC 7636 §4.2). */
export async function challengeFor(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64Url(new Uint8Array(digest));
}

/** A JWT's payload, read without verifying it (the API verifies); undefined when it is no JWT. */
function jwtPayload(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const payload = JSON.parse(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))) as unknown;
    return payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The token of a token response the API accepts. The API checks `aud` against its audience (RFC 7519
 * §4.1.3), so: the access token when it is a JWT that names an audience (most providers: the API's);
 * otherwise the ID token, whose `aud` is the client (OIDC Core §2) — as with Cognito, whose access tokens
 * carry `client_id` but no `aud`, and whose ID tokens alone carry custom attributes such as the
 * `custom:tenants` claim the API reads. Some providers give a public client an ID token only.
 */
export function tokenForApi(body: { access_token?: string; id_token?: string }): string | undefined {
  const access = body.access_token;
  if (access && (jwtPayload(access)?.aud !== undefined || !body.id_token)) return access;
  return body.id_token ?? access;
}

export function redirectUri(origin: string): string {
  return `${origin}/login/callback`;
}

/** The authorization request URL of the code flow with PKCE. */
export function authorizationUrl(
  config: OidcConfig,
  params: { challenge: string; state: string; redirectUri: string },
): string {
  const url = new URL(config.authorizationEndpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', params.redirectUri);
  url.searchParams.set('scope', config.scope);
  url.searchParams.set('state', params.state);
  url.searchParams.set('code_challenge', params.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

interface Pending {
  verifier: string;
  state: string;
  next: string;
  config: OidcConfig;
}

/** Sends the browser to the identity provider; the verifier waits in sessionStorage for the callback. */
export async function startOidcLogin(config: OidcConfig, next: string): Promise<void> {
  const verifier = createVerifier();
  const state = createVerifier();
  const pending: Pending = { verifier, state, next, config };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = authorizationUrl(config, {
    challenge: await challengeFor(verifier),
    state,
    redirectUri: redirectUri(window.location.origin),
  });
  window.location.assign(url);
}

/**
 * Finishes the flow on `/login/callback`: checks `state` (CSRF), trades the code and verifier
 * for tokens and returns the token the API accepts plus where to go next.
 */
export async function completeOidcLogin(search: string): Promise<{ token: string; next: string }> {
  const params = new URLSearchParams(search);
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  const providerError = params.get('error');
  if (providerError) {
    throw new Error(
      `The identity provider refused the sign-in: ${params.get('error_description') ?? providerError}`,
    );
  }
  if (!raw) throw new Error('No sign-in was started in this tab. Start again from the sign-in page.');
  const pending = JSON.parse(raw) as Pending;
  const code = params.get('code');
  if (!code || params.get('state') !== pending.state) {
    throw new Error('The sign-in answer does not match the request (state mismatch). Start again.');
  }
  const res = await fetch(pending.config.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri(window.location.origin),
      client_id: pending.config.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    id_token?: string;
    error_description?: string;
    error?: string;
  };
  if (!res.ok)
    throw new Error(`The token exchange failed: ${body.error_description ?? body.error ?? res.status}`);
  const token = tokenForApi(body);
  if (!token) throw new Error('The identity provider returned no token.');
  return { token, next: pending.next };
}
