import type { TenantMoney } from '../core/advisor.ts';
import { monthRange, utcDay, utcMonth } from '../core/usage.ts';
import { planOn } from './plans.ts';
import { type BillingDeps, monthStatements } from './statements.ts';

/**
 * Each USD-billed tenant's month for the advisor: this month's statement (the base fee it is billed for
 * the month — prorated to its days when created this month, docs/billing.md — and usage so far) without
 * the dedicated surcharge and adjustments; its cost scaled from the days so far to the
 * month and without its dedicated lane hours — the same figures whichever placement it has now.
 */
export async function tenantMoney(deps: BillingDeps, now = Date.now()): Promise<Map<string, TenantMoney>> {
  const month = utcMonth(now);
  const { from, to } = monthRange(month);
  const start = Date.parse(`${from}T00:00:00Z`);
  const fraction = Math.max(1 / 31, (now - start) / (Date.parse(`${to}T00:00:00Z`) + 86_400_000 - start));
  const out = new Map<string, TenantMoney>();
  for (const s of await monthStatements(deps, month, now)) {
    if (s.currency !== 'USD') continue;
    const revenue = s.lines
      .filter((l) => l.kind === 'base_fee' || l.kind === 'usage')
      .reduce((a, l) => a + l.amount, 0);
    const laneCostUsd = s.usage.dedicated_lane_hours * deps.costs.perUnitUsd.dedicated_lane_hours;
    const tenant = await deps.directory.get(s.tenantId);
    const plan = tenant ? await planOn(deps.billing, tenant, utcDay(now)) : undefined;
    out.set(s.tenantId, {
      revenueUsd: revenue / 100,
      costUsd: Math.max(0, s.cost / 100 - laneCostUsd) / fraction,
      dedicatedSurchargeUsd: (plan?.currency === 'USD' ? plan.dedicatedSurcharge : 0) / 100,
    });
  }
  return out;
}
