import type { TenantId } from './ids.ts';
import type { Tenant } from './tenant.ts';

export type Role = 'operator' | 'user';

/**
 * How a credential is tied to one incarnation of each tenant it grants, so that a tenant onboarded again
 * under an old id does not honour credentials of the one before:
 * - `incarnation`: embedded tokens carry the incarnation of each tenant at mint time;
 * - `issued-at`: external tokens carry none, so one issued before the tenant was created grants nothing;
 * - `record`: API keys live in the tenant record and die with it.
 */
export type TenantBinding =
  | { kind: 'incarnation'; incarnations: ReadonlyMap<string, string> }
  | { kind: 'issued-at'; issuedAtSec: number }
  | { kind: 'record' };

/** Who is calling and what the credential grants; built only from a verified token or API key. */
export interface Principal {
  subject: string;
  roles: ReadonlySet<Role>;
  tenants: ReadonlySet<TenantId>;
  via: 'jwt' | 'api-key';
  binding: TenantBinding;
  /** The tenant record an API key was checked against, read moments ago: saves reading it again. */
  keyTenant?: Tenant;
  /** When a token stops being accepted (ms since the epoch: its `exp`, or its age limit if sooner). */
  expiresAtMs?: number;
}
