import type { TenantMoney } from '../core/advisor.ts';
import { chargesAtPlan } from '../core/statement.ts';
import { METERS, type Meter, monthRange, utcDay, utcMonth } from '../core/usage.ts';
import { planOn } from './plans.ts';
import { type BillingDeps, monthStatements, monthsCovered } from './statements.ts';

const DAY_MS = 86_400_000;

/**
 * Each tenant's month for the advisor, where its plan now bills in USD, with revenue and cost on one basis:
 * **a month at the pace so far**. Its usage so far is scaled from the part of the month passed to the whole
 * month, and both figures come from it — revenue is a month of **the plan it is on now** (`planOn` today,
 * control/plan-catalogue.ts; a change dated later does not count yet): the plan's whole base fee plus that
 * month of usage beyond the plan's monthly allowance at its overage prices (`chargesAtPlan`,
 * core/statement.ts); cost is the month's statement's (src/core/costing.ts; its fixed part covers the same
 * part of the month) scaled the same way, without its dedicated lane hours. Usage so far against a whole
 * month's allowance, next to a projected cost, made margins smallest early in a month (a tenant was
 * advised to shared on the 2nd and kept on the 28th). Never the statement's prorated lines, which bill each
 * plan for its own days and lagged a plan change by up to a month. The first day counts as a whole day.
 * Its surcharge is the current plan's. Same figures whichever placement it has now; amounts in USD. A tenant
 * id with no tenant now (offboarded) is left out.
 */
export async function tenantMoney(deps: BillingDeps, now = Date.now()): Promise<Map<string, TenantMoney>> {
  const month = utcMonth(now);
  // At least a day in: a few hours' usage scaled to a month is mostly noise (and never a divide by zero).
  const asOf = Math.max(now, Date.parse(`${monthRange(month).from}T00:00:00Z`) + DAY_MS);
  const fraction = monthsCovered(month, asOf);
  const out = new Map<string, TenantMoney>();
  for (const s of await monthStatements(deps, month, asOf)) {
    const tenant = await deps.directory.get(s.tenantId);
    if (!tenant) continue;
    const plan = await planOn(deps.billing, tenant, utcDay(now));
    if (plan.currency !== 'USD') continue;
    const laneCostUsd = s.usage.dedicated_lane_hours * deps.costs.perUnitUsd.dedicated_lane_hours;
    out.set(s.tenantId, {
      revenueUsd: chargesAtPlan(plan, monthAtPace(s.usage, fraction)) / 100,
      costUsd: Math.max(0, s.cost / 100 - laneCostUsd) / fraction,
      dedicatedSurchargeUsd: plan.dedicatedSurcharge / 100,
    });
  }
  return out;
}

/** Usage so far (`fraction` of the month passed) as whole units of a month at the same pace. */
function monthAtPace(usage: Readonly<Record<Meter, number>>, fraction: number): Record<Meter, number> {
  return Object.fromEntries(METERS.map((m) => [m, Math.round(usage[m] / fraction)])) as Record<Meter, number>;
}
