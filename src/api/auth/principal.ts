import type { TenantId } from '../../core/ids.ts';
import type { Tenant } from '../../core/tenant.ts';

export type Role = 'operator' | 'user';

/** Who is calling and what the credential grants; built only from a verified token or API key. */
export interface Principal {
  subject: string;
  roles: ReadonlySet<Role>;
  tenants: ReadonlySet<TenantId>;
  via: 'jwt' | 'api-key';
  /** The tenant record an API key was checked against, read moments ago: saves reading it again. */
  keyTenant?: Tenant;
}
