import type { JWK } from 'jose';
import type { Role } from '../core/principal.ts';

export const EMBEDDED_ISSUER = 'urn:silopool:embedded';
export const EMBEDDED_AUDIENCE = 'silopool';
/** Claim of embedded tokens mapping each granted tenant id to the incarnation it was minted for. */
export const INCARNATIONS_CLAIM = 'incarnations';

export interface TokenClaims {
  subject: string;
  tenants: string[];
  roles: Role[];
  /** Seconds from now until the token expires; callers bound it (`chooseLifetime`). */
  lifetimeSec: number;
  /** Tenant id → incarnation of the tenant record the token is for; tenants absent here had none. */
  incarnations?: Record<string, string>;
}

/** Mints tokens the server's authenticator accepts (the embedded issuer: a key file on disk). */
export interface EmbeddedIssuer {
  mint(claims: TokenClaims): Promise<string>;
  publicJwk: JWK;
}
