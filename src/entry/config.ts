import { resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import type { OidcSettings } from '../api/auth/authenticator.ts';
import type { AuthConfig } from '../api/deps.ts';
import { ConfigError } from '../core/errors.ts';
import {
  choiceSettingOf,
  intSettingOf,
  type SettingsEnv,
  settingOf,
  urlSettingOf,
} from '../core/settings.ts';
import { lifetimeSeconds, readTokenLifetimes, type TokenLifetimes } from '../core/token-lifetime.ts';
import { type WebhookTargetPolicy, webhookTargetPolicyFromEnv } from '../core/webhook-target.ts';

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
  /** How often the metering pass runs (control/meter.ts), seconds: `SILOPOOL_METER_INTERVAL_SEC`, default 300. */
  meterIntervalSec: number;
  workers?: number;
  eventsPerThread: number;
  /** Dedicated function processes kept loaded ahead of cold starts while there are dedicated lanes (embedded). */
  spareFunctionProcesses: number;
  bodyLimit: number;
  /** Which proxies may tell the client's address in `X-Forwarded-For`: none (default), a hop count, or addresses. */
  trustProxy: TrustProxy;
  /** Server-Sent Events: concurrent streams per tenant on this process, and the longest life of one stream. */
  eventStreams: { maxPerTenant: number; maxLifeMs: number };
  logLevel: string;
  oidc?: OidcSettings;
  authConfig: AuthConfig;
  /** Where tenants' webhooks may point: https and public addresses unless the operator widens it. */
  webhookPolicy: WebhookTargetPolicy;
  /** Bounds of the tokens the embedded issuer mints, the operator login token included. */
  tokenLifetimes: TokenLifetimes;
  /** How long a stop (SIGTERM, SIGINT) waits for running jobs before it returns their messages to the queues. */
  shutdownGraceSec: number;
  /** Below this much free space in DATA_DIR `/healthz` answers `degraded` (503). */
  minFreeBytes: number;
  /** Seconds between samples of the metrics history (embedded). */
  metricsIntervalSec: number;
  /** Days the metrics history keeps (embedded). */
  metricsRetentionDays: number;
}

/** `OIDC_MAX_TOKEN_AGE` when unset: an external token issued longer ago is refused whatever its `exp`. */
const DEFAULT_OIDC_MAX_TOKEN_AGE_SEC = 24 * 3600;

/** pino's levels, the values `LOG_LEVEL` may take. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Reads the server's settings from the environment; every variable is documented in the README.
 * @throws ConfigError naming the variable when one is malformed or out of range.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  // Read later by the authenticator, the web app's login, the printed links and the trace exporter, each of
  // which failed with a stack trace (or printed the text as a link) when one was not a URL.
  for (const name of URL_SETTINGS) urlSettingOf(env, name);
  const external = externalOidcOf(env, EMBEDDED_OIDC);
  const oidc = external?.verifier;
  const authConfig: AuthConfig = external?.login
    ? { mode: 'oidc', oidc: external.login }
    : { mode: 'embedded' };
  const backend = choiceSettingOf(env, 'SILOPOOL_BACKEND', ['embedded', 'aws'] as const, 'embedded');
  const logLevel = choiceSettingOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info');
  return {
    backend,
    host: hostOf(env),
    port: intOf(env, 'PORT', 3000, { max: 65_535 }),
    // Empty is unset: resolve('') is the working folder, which the server would make private and fill.
    dataDir: resolve(settingOf(env, 'DATA_DIR') ?? './data'),
    ...optional('publicUrl', publicUrlFromEnv(env)),
    visibilityTimeoutSec: secondsOf(env, 'SILOPOOL_VISIBILITY_TIMEOUT_SEC', 30, MIN_VISIBILITY_TIMEOUT_SEC),
    maxReceiveCount: intOf(env, 'SILOPOOL_MAX_RECEIVES', 4, MAX_RECEIVES_RANGE),
    reconcileGraceSec: secondsOf(env, 'SILOPOOL_RECONCILE_GRACE_SEC', 600),
    meterIntervalSec: secondsOf(env, 'SILOPOOL_METER_INTERVAL_SEC', 300, 1),
    ...(settingOf(env, 'SILOPOOL_WORKERS') !== undefined
      ? { workers: intOf(env, 'SILOPOOL_WORKERS', 2, { min: 1, max: MAX_WORKERS }) }
      : {}),
    eventsPerThread: intOf(env, 'SILOPOOL_EVENTS_PER_THREAD', 1, { min: 1 }),
    spareFunctionProcesses: intOf(env, 'SILOPOOL_SPARE_FUNCTION_PROCESSES', 1, { min: 0, max: 8 }),
    bodyLimit: intOf(env, 'SILOPOOL_BODY_LIMIT', 256 * 1024, { min: 1 }),
    trustProxy: trustProxyOf(env),
    eventStreams: {
      maxPerTenant: intOf(env, 'SILOPOOL_SSE_MAX_STREAMS', 20, { min: 1 }),
      // At least a second: 0 ended every stream at once with `reconnect`, as a life past a timer's did.
      maxLifeMs: secondsOf(env, 'SILOPOOL_SSE_MAX_LIFE_SEC', 300, 1) * 1000,
    },
    logLevel,
    ...(oidc ? { oidc } : {}),
    authConfig,
    webhookPolicy: webhookTargetPolicyFromEnv(env),
    tokenLifetimes: readTokenLifetimes(env),
    shutdownGraceSec: secondsOf(env, 'SILOPOOL_SHUTDOWN_GRACE_SEC', 25),
    minFreeBytes: intOf(env, 'SILOPOOL_MIN_FREE_BYTES', 100 * 1024 * 1024),
    metricsIntervalSec: secondsOf(env, 'SILOPOOL_METRICS_INTERVAL_SEC', 60, 1),
    metricsRetentionDays: intOf(env, 'SILOPOOL_METRICS_RETENTION_DAYS', 14, { min: 1 }),
  };
}

/** Fastify's `trustProxy`: `false`, a hop count, or addresses and CIDR ranges (and proxy-addr's names). */
export type TrustProxy = false | number | string[];

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `SILOPOOL_TRUST_PROXY`: unset means the connection's address is the client (a forged `X-Forwarded-For`
 * changes nothing); a whole number trusts that many proxy hops; otherwise a comma-separated list of
 * proxy addresses or CIDR ranges. `true` (trust any sender) is refused: whoever can reach the port could
 * then choose the address the logs record.
 */
export function trustProxyOf(env: NodeJS.ProcessEnv): TrustProxy {
  const value = settingOf(env, 'SILOPOOL_TRUST_PROXY')?.trim();
  if (!value || value === 'false' || value === '0') return false;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((e) => e.trim());
  for (const entry of entries) {
    if (!(PROXY_NAMES.has(entry) || ipaddr.isValid(entry) || ipaddr.isValidCIDR(entry))) {
      throw new ConfigError(
        'SILOPOOL_TRUST_PROXY',
        `SILOPOOL_TRUST_PROXY must be a hop count or a comma-separated list of addresses or CIDR ranges; "${entry}" is neither`,
      );
    }
  }
  return entries;
}

/**
 * HOST. An IPv6 address with a zone (`fe80::1%eth0`) is refused: the server prints its listen address as
 * the login link and writes it to `DATA_DIR/server-url` for the CLI, and no URL carries a zone (WHATWG URLs
 * and browsers refuse `http://[fe80::1%eth0]:3000`), so the link did not open and the CLI found no server.
 */
function hostOf(env: NodeJS.ProcessEnv): string {
  // Empty is unset, as for every setting: listen takes '' as every address (all interfaces, IPv4 and IPv6).
  const host = settingOf(env, 'HOST') ?? '127.0.0.1';
  if (host.includes('%'))
    throw new ConfigError(
      'HOST',
      `HOST ${host} names an IPv6 zone (${host.slice(host.indexOf('%'))}), which no URL can carry: the login link and the CLI could not reach the server. Set HOST to :: (every address), ::1, or an address without a zone`,
    );
  return host;
}

/**
 * PUBLIC_URL, an http(s) URL, on every backend (the AWS notification function's links too): the base the login link and notification links are
 * built on (`${url}/login#token=…`), so no query or fragment (the link's path would land inside them) and no
 * trailing slash (`https://example.com//login`, which the web app does not route).
 */
export function publicUrlFromEnv(env: SettingsEnv): string | undefined {
  const value = urlSettingOf(env, 'PUBLIC_URL');
  if (value === undefined) return undefined;
  const url = new URL(value);
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#'))
    throw new ConfigError(
      'PUBLIC_URL',
      `PUBLIC_URL must be where users reach the server, without a query or fragment, not "${value}"`,
    );
  return value.replace(/\/+$/, '');
}

/** Settings that must be http(s) URLs when set. */
const URL_SETTINGS = [
  'PUBLIC_URL',
  'OIDC_ISSUER',
  'OIDC_JWKS_URL',
  'OIDC_AUTHORIZATION_ENDPOINT',
  'OIDC_TOKEN_ENDPOINT',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
] as const;

/** A whole number from the environment (`intSettingOf`). */
const intOf = intSettingOf;

/**
 * Receives of a job's message before it is dead-lettered: SQS's range (1 to 1,000). 0 passed as a whole
 * number and dead-lettered every accepted job before its first run ("after 0 receives").
 */
export const MAX_RECEIVES_RANGE = { min: 1, max: 1000 } as const;
/**
 * Most worker threads of the shared functions. The pool starts them all at once, each with its own copy of
 * the model code: `SILOPOOL_WORKERS=100000` passed as a whole number and the server spent its start
 * spawning threads until memory ran out.
 */
export const MAX_WORKERS = 1024;
/**
 * Shortest visibility timeout of the lanes, seconds. 0 made every message a function had received visible
 * again at once: other threads received it too, each job ran up to its whole receive count in parallel, and
 * a job running longer than a few polls was dead-lettered while it ran.
 */
export const MIN_VISIBILITY_TIMEOUT_SEC = 1;

/**
 * Seconds that end up in a timer: Node's timers wait at most 2^31 − 1 ms (about 24.8 days) and run a
 * longer one after 1 ms, which turned a long interval into a busy loop.
 */
export const MAX_TIMER_SEC = Math.floor((2 ** 31 - 1) / 1000);

function secondsOf(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  return intOf(env, name, fallback, { min, max: MAX_TIMER_SEC });
}

/** Seconds of a lifetime setting like `12h`; throws ConfigError naming the variable when malformed. */
export function lifetimeOf(name: string, value: string): number {
  const seconds = lifetimeSeconds(value);
  if (seconds === undefined)
    throw new ConfigError(name, `${name} must be a lifetime like 15m, 12h or 7d, not "${value}"`);
  return seconds;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The names and defaults of an external IdP's settings: the embedded server's, or the AWS API function's. */
export interface OidcSettingNames {
  prefix: 'OIDC_' | 'SILOPOOL_OIDC_';
  /** The token audience: its own setting (embedded, default `silopool`), or the client id (AWS). */
  audience: { setting: string; fallback: string } | 'client-id';
  tenantsClaim: string;
  rolesClaim: string;
  scope: string;
  /** OIDC_MAX_TOKEN_AGE when unset; undefined: no limit but the token's own `exp`. */
  maxTokenAgeSec?: number;
}

const EMBEDDED_OIDC: OidcSettingNames = {
  prefix: 'OIDC_',
  audience: { setting: 'OIDC_AUDIENCE', fallback: 'silopool' },
  tenantsClaim: 'tenants',
  rolesClaim: 'roles',
  scope: 'openid',
  maxTokenAgeSec: DEFAULT_OIDC_MAX_TOKEN_AGE_SEC,
};

/** The AWS API function's: Cognito's claims, the client id as the audience (the CDK app sets these). */
export const AWS_API_OIDC: OidcSettingNames = {
  prefix: 'SILOPOOL_OIDC_',
  audience: 'client-id',
  tenantsClaim: 'custom:tenants',
  rolesClaim: 'cognito:groups',
  scope: 'openid email',
};

/**
 * An external IdP from `{prefix}ISSUER`, `_JWKS_URL`, `_TENANTS_CLAIM`, … read alike on every backend: set
 * but empty is unset (an empty JWKS URL, audience or claim name refused every user or read no tenant), URLs
 * must be http(s). `login` (the web app's sign-in) needs `{prefix}CLIENT_ID` too. Undefined without an issuer.
 * @throws ConfigError naming the variable that is malformed
 */
export function externalOidcOf(
  env: SettingsEnv,
  names: OidcSettingNames,
): { verifier: OidcSettings; login?: NonNullable<AuthConfig['oidc']> } | undefined {
  const name = (suffix: string) => `${names.prefix}${suffix}`;
  const issuer = urlSettingOf(env, name('ISSUER'));
  if (issuer === undefined) return undefined;
  const clientId = settingOf(env, name('CLIENT_ID'));
  const audience =
    names.audience === 'client-id'
      ? clientId
      : (settingOf(env, names.audience.setting) ?? names.audience.fallback);
  if (audience === undefined)
    throw new ConfigError(
      name('CLIENT_ID'),
      `Set ${name('CLIENT_ID')}: tokens are checked for it as their audience`,
    );
  const maxAge = settingOf(env, name('MAX_TOKEN_AGE'));
  const verifier: OidcSettings = {
    issuer,
    audience,
    jwksUrl: urlSettingOf(env, name('JWKS_URL')) ?? `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`,
    tenantsClaim: settingOf(env, name('TENANTS_CLAIM')) ?? names.tenantsClaim,
    rolesClaim: settingOf(env, name('ROLES_CLAIM')) ?? names.rolesClaim,
    ...optional(
      'maxTokenAgeSec',
      maxAge !== undefined ? lifetimeOf(name('MAX_TOKEN_AGE'), maxAge) : names.maxTokenAgeSec,
    ),
  };
  if (clientId === undefined) return { verifier };
  return {
    verifier,
    login: {
      issuer,
      clientId,
      authorizationEndpoint:
        urlSettingOf(env, name('AUTHORIZATION_ENDPOINT')) ?? `${issuer}/oauth2/authorize`,
      tokenEndpoint: urlSettingOf(env, name('TOKEN_ENDPOINT')) ?? `${issuer}/oauth2/token`,
      scope: settingOf(env, name('SCOPE')) ?? names.scope,
    },
  };
}

/**
 * The API's IdP, read as the embedded server reads its own (`externalOidcOf`): set but empty is unset, URLs
 * must be http(s). Throws naming SILOPOOL_OIDC_ISSUER or SILOPOOL_OIDC_CLIENT_ID when one is missing.
 */
export function apiOidcFromEnv(env: SettingsEnv): {
  verifier: OidcSettings;
  login: NonNullable<AuthConfig['oidc']>;
} {
  const oidc = externalOidcOf(env, AWS_API_OIDC);
  for (const [name, value] of [
    ['SILOPOOL_OIDC_ISSUER', oidc],
    ['SILOPOOL_OIDC_CLIENT_ID', oidc?.login],
  ] as const) {
    if (!value) throw new Error(`Set ${name}: the API function needs it (the CDK app sets it).`);
  }
  return { verifier: oidc!.verifier, login: oidc!.login! };
}
