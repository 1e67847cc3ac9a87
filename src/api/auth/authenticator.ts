import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWK,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { ForbiddenError, UnauthorizedError } from '../../core/errors.ts';
import { isTenantId, type TenantId } from '../../core/ids.ts';
import type { Tenant } from '../../core/tenant.ts';
import type { TenantDirectory } from '../../ports/tenant-directory.ts';
import { findMatchingKey, parseApiKey } from './api-keys.ts';
import { EMBEDDED_AUDIENCE, EMBEDDED_ISSUER } from './issuer.ts';
import type { Principal, Role } from './principal.ts';

export interface OidcSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Claim holding the granted tenant ids (array or space-separated string). */
  tenantsClaim: string;
  /** Claim holding roles; Cognito puts groups in `cognito:groups`. */
  rolesClaim: string;
}

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
}

interface Verifier {
  issuer: string;
  audience: string;
  keys: Parameters<typeof jwtVerify>[1];
  tenantsClaim: string;
  rolesClaim: string;
}

export function createAuthenticator(options: {
  directory: TenantDirectory;
  embeddedPublicJwk?: JWK;
  oidc?: OidcSettings;
}): Authenticator {
  const verifiers: Verifier[] = [];
  if (options.embeddedPublicJwk) {
    verifiers.push({
      issuer: EMBEDDED_ISSUER,
      audience: EMBEDDED_AUDIENCE,
      keys: createLocalJWKSet({ keys: [options.embeddedPublicJwk] }),
      tenantsClaim: 'tenants',
      rolesClaim: 'roles',
    });
  }
  if (options.oidc) {
    verifiers.push({
      issuer: options.oidc.issuer,
      audience: options.oidc.audience,
      keys: createRemoteJWKSet(new URL(options.oidc.jwksUrl)),
      tenantsClaim: options.oidc.tenantsClaim,
      rolesClaim: options.oidc.rolesClaim,
    });
  }

  async function fromJwt(token: string): Promise<Principal> {
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
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw new UnauthorizedError('The token has expired.', { cause: error });
      throw new UnauthorizedError('The token is not valid.', { cause: error });
    }
    return {
      subject: typeof payload.sub === 'string' ? payload.sub : 'unknown',
      roles: new Set(readList(payload[verifier.rolesClaim]).filter(isRole)),
      tenants: new Set(readList(payload[verifier.tenantsClaim]).filter(isTenantId)),
      via: 'jwt',
    };
  }

  async function fromApiKey(token: string): Promise<Principal> {
    const parsed = parseApiKey(token);
    const tenant = parsed ? await options.directory.get(parsed.tenantId) : undefined;
    const record = tenant ? findMatchingKey(tenant.apiKeys, token) : undefined;
    if (!tenant || !record) throw new UnauthorizedError('The API key is not valid.');
    return {
      subject: `api-key:${record.id}`,
      roles: new Set(['user']),
      tenants: new Set([tenant.id]),
      via: 'api-key',
      keyTenant: tenant,
    };
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

function isRole(value: string): value is Role {
  return value === 'operator' || value === 'user';
}

/** The tenant a request acts for: chosen by `x-tenant-id` among those the credential grants, never beyond them. */
export async function resolveTenant(
  principal: Principal,
  requested: string | undefined,
  directory: TenantDirectory,
): Promise<Tenant> {
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
  return tenant;
}
