import { resolve } from 'node:path';
import type { OidcSettings } from '../api/auth/authenticator.ts';
import type { AuthConfig } from '../api/deps.ts';

export interface ServerConfig {
  /** Where the ports live: SQLite and files (`embedded`), or SQS, DynamoDB and S3 (`aws`). */
  backend: 'embedded' | 'aws';
  host: string;
  port: number;
  dataDir: string;
  publicUrl?: string;
  visibilityTimeoutSec: number;
  maxReceiveCount: number;
  /** How long a non-terminal job may go unchanged before the reconciler checks it has a live message. */
  reconcileGraceSec: number;
  workers?: number;
  eventsPerThread?: number;
  bodyLimit: number;
  logLevel: string;
  oidc?: OidcSettings;
  authConfig: AuthConfig;
}

/** Reads the server's settings from the environment; every variable is documented in the README. */
export function readConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const oidc: OidcSettings | undefined = env.OIDC_ISSUER
    ? {
        issuer: env.OIDC_ISSUER,
        jwksUrl: env.OIDC_JWKS_URL ?? `${env.OIDC_ISSUER.replace(/\/$/, '')}/.well-known/jwks.json`,
        audience: env.OIDC_AUDIENCE ?? 'silopool',
        tenantsClaim: env.OIDC_TENANTS_CLAIM ?? 'tenants',
        rolesClaim: env.OIDC_ROLES_CLAIM ?? 'roles',
      }
    : undefined;
  const authConfig: AuthConfig =
    oidc && env.OIDC_CLIENT_ID
      ? {
          mode: 'oidc',
          oidc: {
            issuer: oidc.issuer,
            clientId: env.OIDC_CLIENT_ID,
            authorizationEndpoint: env.OIDC_AUTHORIZATION_ENDPOINT ?? `${oidc.issuer}/oauth2/authorize`,
            tokenEndpoint: env.OIDC_TOKEN_ENDPOINT ?? `${oidc.issuer}/oauth2/token`,
            scope: env.OIDC_SCOPE ?? 'openid',
          },
        }
      : { mode: 'embedded' };
  const backend = env.SILOPOOL_BACKEND ?? 'embedded';
  if (backend !== 'embedded' && backend !== 'aws') {
    throw new Error(`SILOPOOL_BACKEND must be embedded or aws, not "${backend}"`);
  }
  return {
    backend,
    host: env.HOST ?? '127.0.0.1',
    port: intOf(env.PORT, 3000),
    dataDir: resolve(env.DATA_DIR ?? './data'),
    ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
    visibilityTimeoutSec: intOf(env.SILOPOOL_VISIBILITY_TIMEOUT_SEC, 30),
    maxReceiveCount: intOf(env.SILOPOOL_MAX_RECEIVES, 4),
    reconcileGraceSec: intOf(env.SILOPOOL_RECONCILE_GRACE_SEC, 600),
    ...(env.SILOPOOL_WORKERS ? { workers: intOf(env.SILOPOOL_WORKERS, 2) } : {}),
    ...(env.SILOPOOL_EVENTS_PER_THREAD ? { eventsPerThread: intOf(env.SILOPOOL_EVENTS_PER_THREAD, 1) } : {}),
    bodyLimit: intOf(env.SILOPOOL_BODY_LIMIT, 256 * 1024),
    logLevel: env.LOG_LEVEL ?? 'info',
    ...(oidc ? { oidc } : {}),
    authConfig,
  };
}

function intOf(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`Expected a whole number, got "${value}"`);
  return n;
}
