import { type BillingIncarnation, itemsOfIncarnation } from '../core/billing-incarnation.ts';
import { ConflictError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import { type BillingPlan, DEFAULT_PLANS, type PlanCatalogue, planById } from '../core/plans.ts';
import { monthMixingCurrencies, type PlanAssignment } from '../core/statement.ts';
import { incarnationOf, type Tenant } from '../core/tenant.ts';
import { utcDay } from '../core/usage.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import { isClosed, planFateKey, settleWrite, voidedIn, voidedPlanChanges } from './month-fence.ts';

// The stored plan catalogue and plan changes, read and recorded: what plans.ts (which changes a tenant's
// limits through tenants.ts) and tenants.ts (a tier changed by a patch) both need, apart so neither imports
// the other.

/** Where the stored catalogue is (`savePlans` writes it). */
export const PLANS_KEY = ['B#plans', 'catalogue'] as const;
const tenantKey = (tenantId: TenantId) => `B#T#${tenantId}`;

export async function loadPlans(items: BillingItems): Promise<PlanCatalogue> {
  return (await items.get<PlanCatalogue>(...PLANS_KEY)) ?? DEFAULT_PLANS;
}

/** The plan a tenant is on when no plan change names one: the plan with its tier's id, else the first of its tier. */
export function tierPlan(catalogue: PlanCatalogue, tier: Tenant['plan']): BillingPlan {
  return (
    planById(catalogue, tier) ??
    catalogue.plans.find((p) => p.tier === tier) ??
    planById(DEFAULT_PLANS, tier) ??
    DEFAULT_PLANS.plans[0]!
  );
}

/** The tenant id's plan changes, but for those that missed a month's close (void, 409 to their writer). */
export async function listAssignments(items: BillingItems, tenantId: TenantId): Promise<PlanAssignment[]> {
  const all = await items.query<PlanAssignment>(tenantKey(tenantId), 'PLAN#');
  const voided = await voidedPlanChanges(items, tenantId);
  return voided.size === 0 ? all : all.filter((a) => !voided.has(planFateKey(a)[1]));
}

/**
 * Stores a plan change (idempotent by its key), then settles it with any close of `months` (the months it
 * changes, from its own to this one) begun meanwhile (control/month-fence.ts).
 * @throws ConflictError `month_closed` when such a close did not bill it: the change is void
 */
export async function putPlanChange(
  billing: BillingItems,
  assignment: PlanAssignment,
  months: readonly string[],
): Promise<void> {
  const wrote = await billing.put(
    tenantKey(assignment.tenantId),
    `PLAN#${assignment.effective}#${assignment.planId}#${assignment.incarnation}`,
    assignment,
    { ifAbsent: true },
  );
  const key = planFateKey(assignment);
  // Only its writer voids an item; a repeat of a change learns the first one's fate.
  const missed = wrote
    ? await settleWrite(billing, key, months, assignment.createdAt)
    : await voidedIn(billing, key);
  if (missed)
    throw new ConflictError(
      `The statements of ${missed} were closed while the plan change from ${assignment.effective} was written; a plan change can take effect from an open month.`,
      'month_closed',
    );
}

/**
 * The first closed (or closing) month of `months`, if any: a plan change taking effect in the first changes
 * every one of them, and a closed month's stored statements never change.
 */
export async function firstClosed(
  closed: (month: string) => Promise<boolean>,
  months: readonly string[],
): Promise<string | undefined> {
  for (const month of months) if (await closed(month)) return month;
  return undefined;
}

/** The plan in effect for the tenant on `day` (UTC). */
export async function planOn(
  items: BillingItems,
  tenant: Pick<Tenant, 'id' | 'plan'> & BillingIncarnation,
  day: string,
): Promise<BillingPlan> {
  const catalogue = await loadPlans(items);
  const own = itemsOfIncarnation(tenant, undefined, await listAssignments(items, tenant.id));
  const due = own.filter((a) => a.effective <= day);
  const last = due
    .sort((a, b) => a.effective.localeCompare(b.effective) || a.createdAt.localeCompare(b.createdAt))
    .at(-1);
  return (last && (planById(catalogue, last.planId) ?? last.plan)) ?? tierPlan(catalogue, tenant.plan);
}

/**
 * Before the first plan change of a tenant incarnation (effective `day`, after its day of creation), records
 * the plan it has been billed on since its creation, its tier's (`tierPlan`), as a change effective that day
 * (made at its creation, so a change of the same day made later wins). Statements bill the days before any
 * change on the tier's plan, and read the tier as it is now: the change sets a new tier, and without this
 * record every day before it, in every month not closed, was re-billed on the new plan (a tenant on Free
 * since October changed to Enterprise on 20 November paid Enterprise for all of October and November).
 */
export async function recordOpeningPlan(
  billing: BillingItems,
  tenant: Tenant,
  catalogue: PlanCatalogue,
  day: string,
): Promise<void> {
  const created = utcDay(tenant.createdAt);
  if (day <= created) return;
  if (itemsOfIncarnation(tenant, undefined, await listAssignments(billing, tenant.id)).length > 0) return;
  const plan = tierPlan(catalogue, tenant.plan);
  const incarnation = incarnationOf(tenant);
  const opening: PlanAssignment = {
    id: `${tenant.id}/${created}/${plan.id}`,
    tenantId: tenant.id,
    planId: plan.id,
    effective: created,
    createdAt: new Date(tenant.createdAt).toISOString(),
    incarnation,
    plan,
  };
  await billing.put(tenantKey(tenant.id), `PLAN#${created}#${plan.id}#${incarnation}`, opening, {
    ifAbsent: true,
  });
}

/**
 * A tier changed outside a plan change (`PATCH /v1/admin/tenants/{id}` with `plan`, a tenants file applied):
 * recorded as a change to the tier's plan (`tierPlan`) from today, after the plan the tenant had until now
 * (`recordOpeningPlan`; `tenant` is its record before the patch). Statements bill days no change covers on
 * the tier as it is now: unrecorded, the new tier re-billed every earlier day of every month not closed.
 * @throws ConflictError `plan_currency_mixed` when the tier's plan bills in another currency than this month
 * @throws ConflictError `month_closed` when today's month is closed, or its close began while the change was
 *   written (a patch at the last moment of a month): the change is void, the caller keeps the old tier
 */
export async function recordTierChange(
  billing: BillingItems,
  tenant: Tenant,
  tier: Tenant['plan'],
  now = Date.now(),
): Promise<void> {
  const catalogue = await loadPlans(billing);
  const plan = tierPlan(catalogue, tier);
  const day = utcDay(now);
  const incarnation = incarnationOf(tenant);
  const assignment: PlanAssignment = {
    id: `${tenant.id}/${day}/${plan.id}`,
    tenantId: tenant.id,
    planId: plan.id,
    effective: day,
    createdAt: new Date(now).toISOString(),
    incarnation,
    plan,
  };
  const own = itemsOfIncarnation(tenant, undefined, await listAssignments(billing, tenant.id));
  const mixed = monthMixingCurrencies(
    day.slice(0, 7),
    [...own, assignment],
    (id) => planById(catalogue, id),
    tierPlan(catalogue, tenant.plan),
  );
  if (mixed)
    throw new ConflictError(
      `The ${tier} tier's plan ${plan.name} bills in ${plan.currency}: ${mixed} would be billed in two currencies. ` +
        'Change the plan (POST /v1/admin/tenants/{id}/plan) from the 1st of a month.',
      'plan_currency_mixed',
    );
  if (await isClosed(billing, day.slice(0, 7)))
    throw new ConflictError(
      `The statements of ${day.slice(0, 7)} are closed; change the tier again now that the month has turned.`,
      'month_closed',
    );
  await recordOpeningPlan(billing, tenant, catalogue, day);
  await putPlanChange(billing, assignment, [day.slice(0, 7)]);
}
