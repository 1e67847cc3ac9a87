import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/entry/config.ts';
import { durabilityFromEnv, releasesDirOf } from '../../src/entry/embedded-wiring.ts';

// Durations from the environment end up in setTimeout/setInterval, which take at most 2^31 − 1 ms
// (24.8 days) and run anything longer after 1 ms: SILOPOOL_METRICS_INTERVAL_SEC=3000000 sampled metrics
// history in a busy loop, SILOPOOL_SSE_MAX_LIFE_SEC=3000000 ended every event stream at once (clients
// reconnecting in a loop). Refused at start, naming the variable, like any malformed setting.
describe('durations in the environment', () => {
  const timed = [
    'SILOPOOL_METRICS_INTERVAL_SEC',
    'SILOPOOL_SSE_MAX_LIFE_SEC',
    'SILOPOOL_VISIBILITY_TIMEOUT_SEC',
    'SILOPOOL_RECONCILE_GRACE_SEC',
    'SILOPOOL_SHUTDOWN_GRACE_SEC',
  ];

  it.each(timed)('%s past what a timer can wait is refused, naming it', (name) => {
    expect(() => readConfig({ [name]: '3000000' })).toThrow(name);
    expect(() => readConfig({ [name]: '2147483' })).not.toThrow();
  });

  it('a malformed number names its variable', () => {
    expect(() => readConfig({ SILOPOOL_METRICS_RETENTION_DAYS: 'two' })).toThrow(
      'SILOPOOL_METRICS_RETENTION_DAYS',
    );
  });
});

// SILOPOOL_MAX_RECEIVES=0 dead-lettered every accepted job before its first run ("after 0 receives"), and
// SILOPOOL_VISIBILITY_TIMEOUT_SEC=0 made a received message visible again at once, so every job ran up to
// its receive count in parallel: both passed as "a whole number from 0". Refused at start, naming them.
describe('counts and timeouts of the lanes', () => {
  it.each(['0', '-1', '1001', '2.5'])('SILOPOOL_MAX_RECEIVES=%s is refused, naming it', (value) => {
    expect(() => readConfig({ SILOPOOL_MAX_RECEIVES: value })).toThrow('SILOPOOL_MAX_RECEIVES');
  });

  it('SILOPOOL_MAX_RECEIVES from 1 to 1000 (SQS) is taken', () => {
    expect(readConfig({ SILOPOOL_MAX_RECEIVES: '1' }).maxReceiveCount).toBe(1);
    expect(readConfig({ SILOPOOL_MAX_RECEIVES: '1000' }).maxReceiveCount).toBe(1000);
  });

  // The pool starts every thread at once: 100000 passed and the start spawned threads until memory ran out.
  it('SILOPOOL_WORKERS past 1024 is refused, naming it; 1 to 1024 and an empty value are taken', () => {
    for (const value of ['1025', '100000', '9007199254740991'])
      expect(() => readConfig({ SILOPOOL_WORKERS: value }), value).toThrow(
        /SILOPOOL_WORKERS must be .* from 1 to 1024/,
      );
    expect(readConfig({ SILOPOOL_WORKERS: '1024' }).workers).toBe(1024);
    expect(readConfig({ SILOPOOL_WORKERS: ' 3 ' }).workers).toBe(3);
    expect(readConfig({ SILOPOOL_WORKERS: '' }).workers).toBeUndefined();
    expect(() => readConfig({ SILOPOOL_WORKERS: '0' })).toThrow('SILOPOOL_WORKERS');
  });

  it('SILOPOOL_VISIBILITY_TIMEOUT_SEC=0 is refused, naming it; 1 is taken', () => {
    expect(() => readConfig({ SILOPOOL_VISIBILITY_TIMEOUT_SEC: '0' })).toThrow(
      'SILOPOOL_VISIBILITY_TIMEOUT_SEC',
    );
    expect(readConfig({ SILOPOOL_VISIBILITY_TIMEOUT_SEC: '1' }).visibilityTimeoutSec).toBe(1);
  });
});

// The sibling of SILOPOOL_SSE_MAX_LIFE_SEC=3000000 above: 0 also ended every event stream as it opened
// (a `reconnect` event at once), and clients reopened them in a loop.
describe('event stream life', () => {
  it('SILOPOOL_SSE_MAX_LIFE_SEC=0 is refused, naming it; 1 is taken', () => {
    expect(() => readConfig({ SILOPOOL_SSE_MAX_LIFE_SEC: '0' })).toThrow('SILOPOOL_SSE_MAX_LIFE_SEC');
    expect(readConfig({ SILOPOOL_SSE_MAX_LIFE_SEC: '1' }).eventStreams.maxLifeMs).toBe(1000);
  });
});

// The server prints `${url}/login#token=…` and writes its listen address to DATA_DIR/server-url for the CLI.
// A link-local HOST with its zone (fe80::1%eth0) was taken: the server listened and printed
// http://[fe80::1%eth0]:3000, which no URL parser takes (WHATWG URLs carry no zone), so the login link did
// not open and the CLI, finding no reachable server, refused with "a server is already running" for as long
// as it ran. PUBLIC_URL was taken as any text: `example.com` printed a login link without a scheme, and
// `https://example.com/` one with `//login`, which the web app does not route.
describe('addresses the server prints and writes', () => {
  it('a HOST with an IPv6 zone is refused, naming HOST and what to set instead', () => {
    expect(() => readConfig({ HOST: 'fe80::1%eth0' })).toThrow(/HOST fe80::1%eth0 .*zone.*::/);
    for (const host of ['::', '::1', '0.0.0.0', '127.0.0.1', 'localhost'])
      expect(readConfig({ HOST: host }).host).toBe(host);
  });

  it.each([
    'example.com',
    'ftp://example.com',
    'https://',
    'https://example.com/?a=1',
    'https://example.com/#x',
    'https://example.com:0',
  ])('PUBLIC_URL %s is refused, naming it', (value) => {
    expect(() => readConfig({ PUBLIC_URL: value })).toThrow(/PUBLIC_URL/);
  });

  it.each(['PUBLIC_URL', 'OIDC_ISSUER', 'OIDC_JWKS_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT'])(
    '%s on port 0 (nothing listens there) is refused at start, naming it',
    (name) => {
      expect(() => readConfig({ [name]: 'https://example.com:0/x' })).toThrow(new RegExp(`${name}.*port 0`));
    },
  );

  it('PUBLIC_URL loses a trailing slash, so links built on it have one slash', () => {
    expect(readConfig({ PUBLIC_URL: 'https://example.com/' }).publicUrl).toBe('https://example.com');
    expect(readConfig({ PUBLIC_URL: 'https://example.com/silo/' }).publicUrl).toBe(
      'https://example.com/silo',
    );
    expect(readConfig({ PUBLIC_URL: 'http://[::1]:3000' }).publicUrl).toBe('http://[::1]:3000');
  });

  // `HOST=` (set but empty, as a .env file or a compose file leaves it) was passed to listen as '', which
  // Node takes as every address: the server listened on all interfaces, IPv4 and IPv6, while it printed
  // http://[::1]:PORT. Empty is unset here as for every other setting: 127.0.0.1.
  it('an empty HOST is the default 127.0.0.1, not every address', () => {
    expect(readConfig({ HOST: '' }).host).toBe('127.0.0.1');
    expect(readConfig({}).host).toBe('127.0.0.1');
  });

  // `DATA_DIR=` resolved to the working folder: the server made it private (0700) and wrote its SQLite files,
  // signing key and operator token there. Empty is unset: ./data.
  it('an empty DATA_DIR is the default ./data, not the working folder', () => {
    expect(readConfig({ DATA_DIR: '' }).dataDir).toBe(resolve('./data'));
  });

  // An OIDC setting set but empty was taken as its value: OIDC_JWKS_URL= gave the verifier no key set,
  // OIDC_AUDIENCE= required tokens for audience "", OIDC_TENANTS_CLAIM= / OIDC_ROLES_CLAIM= read no tenant
  // and no role (every user refused, nothing saying why), the login's endpoints and scope were "".
  it('empty OIDC settings are their defaults', () => {
    const empty = {
      OIDC_JWKS_URL: '',
      OIDC_AUDIENCE: '',
      OIDC_TENANTS_CLAIM: '',
      OIDC_ROLES_CLAIM: '',
      OIDC_AUTHORIZATION_ENDPOINT: '',
      OIDC_TOKEN_ENDPOINT: '',
      OIDC_SCOPE: '',
    };
    const base = { OIDC_ISSUER: 'https://idp.example', OIDC_CLIENT_ID: 'console' };
    const withEmpty = readConfig({ ...base, ...empty });
    const unset = readConfig(base);
    expect(withEmpty.oidc).toEqual(unset.oidc);
    expect(withEmpty.authConfig).toEqual(unset.authConfig);
    expect(unset.oidc).toMatchObject({ audience: 'silopool', tenantsClaim: 'tenants', rolesClaim: 'roles' });
  });

  // SILOPOOL_RELEASES_DIR= kept releases (model code the functions load) in the working folder, and
  // SILOPOOL_DURABILITY= was refused as not process or power, where every other empty setting is its default.
  it('empty SILOPOOL_RELEASES_DIR and SILOPOOL_DURABILITY are their defaults', () => {
    expect(releasesDirOf('/srv/data', { SILOPOOL_RELEASES_DIR: '' })).toBe(join('/srv/data', 'releases'));
    expect(durabilityFromEnv({ SILOPOOL_DURABILITY: '' })).toBe('process');
  });
});
