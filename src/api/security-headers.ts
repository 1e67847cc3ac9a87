import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { AuthConfig } from './deps.ts';

/**
 * The Content-Security-Policy of every response, as directive → sources. The web app (web/dist) and
 * `/docs` load only their own scripts, styles and images; nothing may frame them (clickjacking), no
 * plugin content, no `<base>` or form posting elsewhere. Browsers navigate to the OIDC provider with
 * `location.assign`, which CSP does not govern; the code → token exchange is a `fetch`, so the token
 * endpoint's origin is the one outside source, and only when OIDC login is configured.
 */
export function contentSecurityPolicy(authConfig: AuthConfig): Record<string, string[]> {
  const tokenOrigin = authConfig.oidc ? originOf(authConfig.oidc.tokenEndpoint) : undefined;
  return {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'", ...(tokenOrigin ? [tokenOrigin] : [])],
    'font-src': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    // Swagger UI draws its icons as data: SVGs; the app's logo previews are data: PNGs.
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    // The portal's form validator (RJSF with Ajv) compiles the tenant's input schema to a function at run
    // time. 'unsafe-eval' permits only that string-to-code step: no inline script, no script from elsewhere
    // runs. A validator that interprets the schema instead would let it go.
    'script-src': ["'self'", "'unsafe-eval'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
  };
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * Helmet's headers on every response, pages and API alike: the CSP above, `nosniff`, no referrer, and
 * `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`. `upgrade-insecure-requests` is left
 * out: the embedded server speaks plain HTTP on localhost and a LAN, where upgrading would break the app.
 */
export async function registerSecurityHeaders(app: FastifyInstance, authConfig: AuthConfig): Promise<void> {
  await app.register(fastifyHelmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(authConfig) },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    xContentTypeOptions: true,
  });
}
