import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWK,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { findMatchingKey, hashApiKey, isKeyLive, parseApiKey } from '../../core/api-keys.ts';
import { ForbiddenError, isStorageFull, UnauthorizedError } from '../../core/errors.ts';
import { isTenantId, type TenantId } from '../../core/ids.ts';
import { type Principal, type Role, scrapesOnly, type TenantBinding } from '../../core/principal.ts';
import type { ApiKeyRecord, Tenant } from '../../core/tenant.ts';
import {
  DEFAULT_TOKEN_LIFETIMES,
  maxEmbeddedTokenAge,
  type TokenLifetimes,
} from '../../core/token-lifetime.ts';
import type { TenantDirectory } from '../../ports/tenant-directory.ts';
import { EMBEDDED_AUDIENCE, EMBEDDED_ISSUER, INCARNATIONS_CLAIM } from '../../ports/token-issuer.ts';

export interface OidcSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Claim holding the granted tenant ids (array or space-separated string). */
  tenantsClaim: string;
  /** Claim holding roles; Cognito puts groups in `cognito:groups`. */
  rolesClaim: string;
  /** Oldest `iat` accepted, seconds (default a day): a token older than this is refused whatever its `exp`. */
  maxTokenAgeSec?: number;
}

/** Tolerated clock difference with an external issuer, seconds, for `exp`, `nbf` and `iat`. */
const CLOCK_TOLERANCE_SEC = 30;
/** A key's last use is written at most this often (ms): a write per request would cost more than it tells. */
const KEY_USE_RESOLUTION_MS = 60_000;
/** Most credentials remembered; past it the cache starts again (it is only a saving). */
const CREDENTIAL_CACHE_LIMIT = 10_000;

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
}

interface Verifier {
  issuer: string;
  audience: string;
  keys: Parameters<typeof jwtVerify>[1];
  tenantsClaim: string;
  rolesClaim: string;
  maxTokenAgeSec: number;
  embedded: boolean;
}

export function createAuthenticator(options: {
  directory: TenantDirectory;
  embeddedPublicJwk?: JWK;
  oidc?: OidcSettings;
  /** Bounds of embedded tokens: one older than the longest lifetime minted is refused. */
  lifetimes?: TokenLifetimes;
}): Authenticator {
  const verifiers: Verifier[] = [];
  if (options.embeddedPublicJwk) {
    verifiers.push({
      issuer: EMBEDDED_ISSUER,
      audience: EMBEDDED_AUDIENCE,
      keys: createLocalJWKSet({ keys: [options.embeddedPublicJwk] }),
      tenantsClaim: 'tenants',
      rolesClaim: 'roles',
      maxTokenAgeSec: maxEmbeddedTokenAge(options.lifetimes ?? DEFAULT_TOKEN_LIFETIMES),
      embedded: true,
    });
  }
  if (options.oidc) {
    verifiers.push({
      issuer: options.oidc.issuer,
      audience: options.oidc.audience,
      keys: createRemoteJWKSet(new URL(options.oidc.jwksUrl)),
      tenantsClaim: options.oidc.tenantsClaim,
      rolesClaim: options.oidc.rolesClaim,
      maxTokenAgeSec: options.oidc.maxTokenAgeSec ?? 24 * 3600,
      embedded: false,
    });
  }

  // Verified tokens by their hash, until they expire or grow too old: an ES256 verification costs more than
  // the rest of a request. Nothing a token grants is revocable inside it; what is (the tenant's status and
  // incarnation) is checked against the tenant record on every request (`resolveTenant`).
  const verified = new Map<string, { principal: Principal; validUntilMs: number }>();
  // API keys by their hash, with the tenant record they were checked against: reused only while the
  // directory returns that very record (the embedded one keeps it until the tenants table changes, so a
  // revocation, rotation or suspension ends it at once; the DynamoDB one reads anew, so never).
  const keyPrincipals = new Map<string, { tenant: Tenant; record: ApiKeyRecord; principal: Principal }>();
  const remember = <T>(cache: Map<string, T>, key: string, value: T) => {
    if (cache.size >= CREDENTIAL_CACHE_LIMIT) cache.clear();
    cache.set(key, value);
  };

  async function fromJwt(token: string): Promise<Principal> {
    const hash = hashApiKey(token);
    const known = verified.get(hash);
    if (known && Date.now() < known.validUntilMs) return known.principal;
    if (known) verified.delete(hash);
    const fresh = await verifyJwt(token);
    remember(verified, hash, fresh);
    return fresh.principal;
  }

  /** The token's principal, and until when (ms) `jwtVerify` would accept it again: its `exp` and its age. */
  async function verifyJwt(token: string): Promise<{ principal: Principal; validUntilMs: number }> {
    const issuer = peekIssuer(token);
    const verifier = verifiers.find((v) => v.issuer === issuer);
    if (!verifier) throw new UnauthorizedError('The token was not issued by an issuer this server trusts.');
    let payload: JWTPayload;
    try {
      // Asymmetric algorithms only: `none` and HMAC-with-public-key confusions are refused here.
      ({ payload } = await jwtVerify(token, verifier.keys as never, {
        issuer: verifier.issuer,
        audience: verifier.audience,
        algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
        // A token without `exp` would never end; without `iat` its age and incarnation cannot be told.
        // `maxTokenAge` also refuses an `iat` in the future.
        requiredClaims: ['exp', 'iat'],
        maxTokenAge: verifier.maxTokenAgeSec,
        // Our own tokens are checked against the clock that minted them: no tolerance needed.
        clockTolerance: verifier.embedded ? 0 : CLOCK_TOLERANCE_SEC,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw new UnauthorizedError('The token has expired.', { cause: error });
      throw new UnauthorizedError('The token is not valid.', { cause: error });
    }
    const toleranceMs = verifier.embedded ? 0 : CLOCK_TOLERANCE_SEC * 1000;
    const validUntilMs =
      Math.min(payload.exp as number, (payload.iat as number) + verifier.maxTokenAgeSec) * 1000 + toleranceMs;
    return {
      principal: {
        subject: typeof payload.sub === 'string' ? payload.sub : 'unknown',
        roles: new Set(readList(payload[verifier.rolesClaim]).filter(isRole)),
        tenants: new Set(readList(payload[verifier.tenantsClaim]).filter(isTenantId)),
        via: 'jwt',
        binding: verifier.embedded
          ? { kind: 'incarnation', incarnations: readIncarnations(payload[INCARNATIONS_CLAIM]) }
          : { kind: 'issued-at', issuedAtSec: payload.iat as number },
        expiresAtMs: validUntilMs,
      },
      validUntilMs,
    };
  }

  async function fromApiKey(token: string): Promise<Principal> {
    const parsed = parseApiKey(token);
    const tenant = parsed ? await options.directory.get(parsed.tenantId) : undefined;
    const hash = hashApiKey(token);
    const known = keyPrincipals.get(hash);
    // The tenant record is read on every request (a cached one only while unchanged): a revoked key fails
    // on the very next one, and a key in its grace period once the period ends.
    if (known && known.tenant === tenant && isKeyLive(known.record)) {
      await touchKey(known.tenant, known.record);
      return known.principal;
    }
    const record = tenant ? findMatchingKey(tenant.apiKeys, token) : undefined;
    if (!tenant || !record || !isKeyLive(record)) throw new UnauthorizedError('The API key is not valid.');
    const principal: Principal = {
      subject: `api-key:${record.id}`,
      roles: new Set(['user']),
      tenants: new Set([tenant.id]),
      via: 'api-key',
      binding: { kind: 'record' },
      keyTenant: tenant,
    };
    remember(keyPrincipals, hash, { tenant, record, principal });
    await touchKey(tenant, record);
    return principal;
  }

  async function touchKey(tenant: Tenant, record: ApiKeyRecord): Promise<void> {
    const now = Date.now();
    if (!record.lastUsedAt || now - Date.parse(record.lastUsedAt) >= KEY_USE_RESOLUTION_MS) {
      await options.directory.touchApiKey(tenant, record.id, new Date(now).toISOString()).catch((error) => {
        // The last-used time is best effort: a full disk must not turn every read into a refusal.
        if (!isStorageFull(error)) throw error;
      });
    }
  }

  return {
    async authenticate(authorization) {
      const match = /^Bearer +([^\s]+)\s*$/i.exec(authorization ?? '');
      if (!match) throw new UnauthorizedError();
      const token = match[1]!;
      return token.startsWith('sp_') ? fromApiKey(token) : fromJwt(token);
    },
  };
}

function peekIssuer(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) throw new UnauthorizedError('The token is not a JWT or an API key.');
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iss?: unknown };
    return typeof payload.iss === 'string' ? payload.iss : undefined;
  } catch (error) {
    throw new UnauthorizedError('The token is not a JWT or an API key.', { cause: error });
  }
}

function readList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return [];
}

function readIncarnations(value: unknown): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [id, incarnation] of Object.entries(value)) {
      if (typeof incarnation === 'string') map.set(id, incarnation);
    }
  }
  return map;
}

/**
 * Whether the credential was issued for this incarnation of the tenant: an embedded token names it; an
 * external token must be issued no earlier than the second the tenant was created; an API key lives in it.
 */
export function grantsIncarnation(binding: TenantBinding, tenant: Tenant): boolean {
  switch (binding.kind) {
    case 'incarnation':
      return binding.incarnations.get(tenant.id) === tenant.incarnation;
    case 'issued-at':
      return binding.issuedAtSec >= Math.floor(Date.parse(tenant.createdAt) / 1000);
    case 'record':
      return true;
  }
}

function isRole(value: string): value is Role {
  return value === 'operator' || value === 'user' || value === 'metrics';
}

/** The tenant a request acts for: chosen by `x-tenant-id` among those the credential grants, never beyond them. */
export async function resolveTenant(
  principal: Principal,
  requested: string | undefined,
  directory: TenantDirectory,
): Promise<Tenant> {
  // A scrape credential grants no tenant whatever it names (an external IdP may put both in one token).
  if (scrapesOnly(principal)) throw new ForbiddenError('A metrics credential grants no tenant.');
  let tenantId: TenantId | undefined;
  if (requested !== undefined) {
    if (!isTenantId(requested) || !principal.tenants.has(requested)) {
      throw new ForbiddenError('Your credential does not grant access to that tenant.');
    }
    tenantId = requested;
  } else if (principal.tenants.size === 1) {
    tenantId = [...principal.tenants][0];
  } else {
    throw new ForbiddenError(
      principal.tenants.size === 0
        ? 'Your credential grants no tenant.'
        : 'Your credential grants several tenants: pick one with the x-tenant-id header.',
    );
  }
  const tenant =
    principal.keyTenant?.id === tenantId
      ? principal.keyTenant
      : tenantId
        ? await directory.get(tenantId)
        : undefined;
  if (!tenant) throw new ForbiddenError('That tenant does not exist or is not active.');
  if (tenant.status !== 'active') throw new ForbiddenError('That tenant does not exist or is not active.');
  if (!grantsIncarnation(principal.binding, tenant)) {
    throw new ForbiddenError(
      'Your credential was issued for an earlier tenant with this id, not for this one: get a new one.',
    );
  }
  return tenant;
}
