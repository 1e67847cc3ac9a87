import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
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
    // No 'unsafe-eval': the portal's form validator interprets the tenant's schema
    // (web/src/portal/formValidator.ts) instead of compiling it to a function.
    'script-src': ["'self'"],
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
 *
 * helmet is run once at start against a recorder, and each request gets the
 * recorded header writes on its raw response in an `onRequest` hook, as @fastify/helmet's hook did: that
 * plugin rebuilt helmet's middleware, CSP parsing included, for every request (~5 % of a submit's CPU,
 * docs/benchmarks.md "Session 6"). The headers are the same on every response because nothing varies
 * per request (no per-route options, no CSP nonces); raw headers also reach streamed (SSE) answers.
 */
export async function registerSecurityHeaders(app: FastifyInstance, authConfig: AuthConfig): Promise<void> {
  const writes = recordHelmetHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicy(authConfig) },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    xContentTypeOptions: true,
  });
  app.addHook('onRequest', (_request, reply, done) => {
    const raw = reply.raw;
    for (const [name, value] of writes) {
      if (value === undefined) raw.removeHeader(name);
      else raw.setHeader(name, value);
    }
    done();
  });
}

/**
 * The header writes helmet makes for `options`, in order: `[name, value]` to set, `[name, undefined]` to
 * remove (`X-Powered-By`).
 */
export function recordHelmetHeaders(options: HelmetOptions): [string, string | undefined][] {
  const writes: [string, string | undefined][] = [];
  const recorder = {
    setHeader(name: string, value: string) {
      writes.push([name, value]);
    },
    removeHeader(name: string) {
      writes.push([name, undefined]);
    },
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return writes;
}
