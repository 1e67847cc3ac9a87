import type { TenantMoney } from '../core/advisor.ts';
import type { CostTable } from '../core/costing.ts';
import { chargesAtPlan } from '../core/statement.ts';
import { METERS, type Meter, utcDay } from '../core/usage.ts';
import { type PaceBasis, paceBasis, paceFraction } from '../core/usage-period.ts';
import { planOn } from './plans.ts';
import { type BillingDeps, monthStatements } from './statements.ts';

/**
 * Each tenant's month for the advisor, where its plan now bills in USD, with revenue and cost on the
 * advisor's one basis (`paceBasis`, core/usage-period.ts), **a month at the pace so far**: its usage of this
 * calendar month so far (from its creation when it was created in the month; at least a day) is scaled to
 * the whole month, and both figures come from it — revenue is a month of **the plan it is on now** (`planOn`
 * today, control/plan-catalogue.ts; a change dated later does not count yet): the plan's whole base fee plus
 * that month of usage beyond the plan's monthly allowance at its overage prices (`chargesAtPlan`,
 * core/statement.ts); cost is the month's statement's (src/core/costing.ts), its usage part scaled the same
 * way and its fixed part a whole month's (as the statement has it, and as the base fee is), without its
 * dedicated lane hours. The advisor's usage signals scale by the same fraction (control/advisor.ts). Never
 * the statement's prorated lines, which bill each plan for its own days and lagged a plan change by up to
 * a month. Its surcharge is the current plan's. Same figures whichever placement it has now; amounts in
 * USD. A tenant id with no tenant now (offboarded) is left out.
 */
export async function tenantMoney(
  deps: BillingDeps,
  now = Date.now(),
  basis: PaceBasis = paceBasis(now),
): Promise<Map<string, TenantMoney>> {
  const out = new Map<string, TenantMoney>();
  for (const s of await monthStatements(deps, basis.month)) {
    const tenant = await deps.directory.get(s.tenantId);
    if (!tenant) continue;
    const plan = await planOn(deps.billing, tenant, utcDay(now));
    if (plan.currency !== 'USD') continue;
    const fraction = paceFraction(basis, tenant.createdAt);
    const laneCostUsd = s.usage.dedicated_lane_hours * deps.costs.perUnitUsd.dedicated_lane_hours;
    const usageCostUsd = usageCost(s.usage, deps.costs) - laneCostUsd;
    // The statement's cost is usage so far plus a whole month's fixed part: only the usage part is scaled.
    const fixedCostUsd = s.cost / 100 - usageCostUsd - laneCostUsd;
    out.set(s.tenantId, {
      revenueUsd: chargesAtPlan(plan, monthAtPace(s.usage, fraction)) / 100,
      costUsd: Math.max(0, usageCostUsd / fraction + fixedCostUsd),
      dedicatedSurchargeUsd: plan.dedicatedSurcharge / 100,
    });
  }
  return out;
}

/** What `usage` costs by the table's unit prices (USD), as `attributeCosts` prices it before splitting. */
function usageCost(usage: Readonly<Record<Meter, number>>, costs: CostTable): number {
  return METERS.reduce((sum, m) => sum + usage[m] * costs.perUnitUsd[m], 0);
}

/** Usage so far (`fraction` of the month passed) as whole units of a month at the same pace. */
function monthAtPace(usage: Readonly<Record<Meter, number>>, fraction: number): Record<Meter, number> {
  return Object.fromEntries(METERS.map((m) => [m, Math.round(usage[m] / fraction)])) as Record<Meter, number>;
}
