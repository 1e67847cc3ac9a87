import type { TenantId } from './ids.ts';
import type { Tenant } from './tenant.ts';

/**
 * - `operator`: every operator route, no tenant unless the credential also names it;
 * - `user`: the tenants the credential names;
 * - `metrics`: `GET /metrics` and nothing else, for a Prometheus scrape: a credential holding it (without
 *   `operator`) is refused by every operator and tenant route, so a scrape token that leaks reads metrics only.
 */
export type Role = 'operator' | 'user' | 'metrics';

/** Whether the credential is for scraping metrics only: refused everywhere but `GET /metrics`. */
export function scrapesOnly(principal: Pick<Principal, 'roles'>): boolean {
  return principal.roles.has('metrics') && !principal.roles.has('operator');
}

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
