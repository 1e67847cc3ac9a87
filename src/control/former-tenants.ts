import { incarnationOf, type Tenant } from '../core/tenant.ts';
import type { DayRange } from '../core/usage.ts';
import type { BillingItems } from '../ports/billing-items.ts';

/**
 * Tenants offboarded, as billing needs them after their record is gone: their plan tier and lifetime. An
 * offboarded tenant's month is still billed (docs/billing.md), on the plan it was on; without this its
 * statement fell back to the free plan, or vanished when it had no usage record that month.
 */
export interface FormerTenant {
  tenantId: Tenant['id'];
  plan: Tenant['plan'];
  createdAt: string;
  incarnation?: string;
  offboardedAt: string;
}

const FORMER = 'B#former';

/** Remembers a tenant being offboarded (once per incarnation; a resumed offboarding keeps the first). */
export async function rememberFormerTenant(
  billing: BillingItems | undefined,
  tenant: Tenant,
  now = Date.now(),
): Promise<void> {
  if (!billing) return;
  const incarnation = incarnationOf(tenant);
  const former: FormerTenant = {
    tenantId: tenant.id,
    plan: tenant.plan,
    createdAt: tenant.createdAt,
    incarnation,
    offboardedAt: new Date(now).toISOString(),
  };
  await billing.put(FORMER, `${tenant.id}#${incarnation}`, former, { ifAbsent: true });
}

/** The offboarded tenants that lived during some day of `range`. */
export async function formerTenantsDuring(billing: BillingItems, range: DayRange): Promise<FormerTenant[]> {
  const all = await billing.query<FormerTenant>(FORMER, '');
  return all.filter((f) => f.createdAt.slice(0, 10) <= range.to && f.offboardedAt.slice(0, 10) >= range.from);
}
