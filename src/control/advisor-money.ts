import type { TenantMoney } from '../core/advisor.ts';
import { chargesAtPlan } from '../core/statement.ts';
import { monthRange, utcDay, utcMonth } from '../core/usage.ts';
import { planOn } from './plans.ts';
import { type BillingDeps, monthStatements } from './statements.ts';

/**
 * Each tenant's month for the advisor, where its plan now bills in USD: its revenue is a month of **the
 * plan it is on now** (`planOn` today, control/plan-catalogue.ts; a change dated later does not count yet)
 * — the plan's whole base fee plus this month's usage so far beyond the plan's monthly allowance at its
 * overage prices (`chargesAtPlan`, core/statement.ts) — never the statement's prorated lines, which bill
 * each plan for its own days and so lagged a plan change, or a creation this month, by up to a month (a
 * tenant upgraded to Enterprise on the 20th was advised as $4,645.16 of Enterprise days until the month
 * turned). Its cost is the month's statement's (src/core/costing.ts), scaled from the days so far to the
 * month and without its dedicated lane hours; its surcharge is the current plan's. The same figures
 * whichever placement it has now; amounts in USD. A tenant id with no tenant now (offboarded) is left out.
 */
export async function tenantMoney(deps: BillingDeps, now = Date.now()): Promise<Map<string, TenantMoney>> {
  const month = utcMonth(now);
  const { from, to } = monthRange(month);
  const start = Date.parse(`${from}T00:00:00Z`);
  const fraction = Math.max(1 / 31, (now - start) / (Date.parse(`${to}T00:00:00Z`) + 86_400_000 - start));
  const out = new Map<string, TenantMoney>();
  for (const s of await monthStatements(deps, month, now)) {
    const tenant = await deps.directory.get(s.tenantId);
    if (!tenant) continue;
    const plan = await planOn(deps.billing, tenant, utcDay(now));
    if (plan.currency !== 'USD') continue;
    const laneCostUsd = s.usage.dedicated_lane_hours * deps.costs.perUnitUsd.dedicated_lane_hours;
    out.set(s.tenantId, {
      revenueUsd: chargesAtPlan(plan, s.usage) / 100,
      costUsd: Math.max(0, s.cost / 100 - laneCostUsd) / fraction,
      dedicatedSurchargeUsd: plan.dedicatedSurcharge / 100,
    });
  }
  return out;
}
