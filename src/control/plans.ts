import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { itemsOfIncarnation } from '../core/billing-incarnation.ts';
import { ConflictError, type FieldProblem, NotFoundError, ValidationError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import { type BillingPlan, PLANS_SCHEMA, type PlanCatalogue, planById } from '../core/plans.ts';
import { monthMixingCurrencies, type PlanAssignment } from '../core/statement.ts';
import { incarnationOf, type Tenant, type TenantLimits } from '../core/tenant.ts';
import { utcDay, utcMonth } from '../core/usage.ts';
import { toFieldProblems } from '../models/ajv-messages.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import { monthsBetween } from './month-fence.ts';
import {
  firstClosed,
  listAssignments,
  loadPlans,
  PLANS_KEY,
  planOn,
  putPlanChange,
  recordOpeningPlan,
  tierPlan,
} from './plan-catalogue.ts';
import { type ControlDeps, updateTenant } from './tenants.ts';

export { listAssignments, loadPlans, planOn, tierPlan } from './plan-catalogue.ts';

const validate = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(PLANS_SCHEMA);

/**
 * Checks a plan catalogue (already parsed): the schema, unique ids, and that it bills what it says — an
 * included quantity needs an overage price (a statement bills only meters with one, so an allowance without
 * a price changes no bill: `minor: 0` says "free beyond it"), and dedicated lane hours are priced once
 * (by `dedicatedSurcharge` or by `overage.dedicated_lane_hours`, not both).
 * @throws ValidationError (400) naming each field, e.g. `/plans/2/included/dedicated_lane_hours`
 */
export function checkPlans(doc: unknown): PlanCatalogue {
  if (!validate(doc))
    throw new ValidationError(
      toFieldProblems(validate.errors ?? [], { base: '', unknownField: 'is not a plan setting' }),
    );
  const catalogue = doc as PlanCatalogue;
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const [i, p] of catalogue.plans.entries()) {
    if (seen.has(p.id)) problems.push({ path: `/plans/${i}/id`, message: `${p.id} is declared twice` });
    seen.add(p.id);
    for (const meter of Object.keys(p.included ?? {}))
      if (!Object.hasOwn(p.overage ?? {}, meter))
        problems.push({
          path: `/plans/${i}/included/${meter}`,
          message: `includes ${meter} but sets no price beyond it: statements bill a meter only by its overage price, so the allowance changes no bill; set overage.${meter} (minor: 0 for free beyond it) or remove it`,
          rule: 'included',
        });
    if (Object.hasOwn(p.overage ?? {}, 'dedicated_lane_hours') && (p.dedicatedSurcharge ?? 0) > 0)
      problems.push({
        path: `/plans/${i}/overage/dedicated_lane_hours`,
        message:
          'prices dedicated lane hours a second time: dedicatedSurcharge already bills them; keep one of the two',
        rule: 'dedicated',
      });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    plans: catalogue.plans.map((p) => ({
      ...p,
      included: p.included ?? {},
      overage: p.overage ?? {},
      dedicatedSurcharge: p.dedicatedSurcharge ?? 0,
      limits: p.limits ?? {},
    })),
  };
}

/** Reads a plans file (`plans:` a list; YAML or JSON), as tenants.yaml is read. */
export function parsePlansFile(text: string): PlanCatalogue {
  let doc: unknown;
  try {
    doc = parse(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (error) {
    throw new ValidationError([
      { path: '/', message: `is not valid YAML: ${(error as Error).message.split('\n')[0]}`, rule: 'yaml' },
    ]);
  }
  return checkPlans(doc);
}

/**
 * Stores a plan catalogue. A plan keeps its currency, and so does the plan each tier falls back to
 * (`tierPlan`): months already billed on it would otherwise mix currencies (400 naming the plan).
 */
export async function savePlans(items: BillingItems, catalogue: PlanCatalogue): Promise<PlanCatalogue> {
  const checked = checkPlans(catalogue);
  const before = await loadPlans(items);
  const problems: FieldProblem[] = [];
  for (const [i, p] of checked.plans.entries()) {
    const was = planById(before, p.id)?.currency;
    if (was && was !== p.currency)
      problems.push({
        path: `/plans/${i}/currency`,
        message: `must stay ${was}: a plan keeps its currency (add a plan with a new id)`,
        rule: 'currency',
      });
  }
  for (const tier of ['free', 'standard', 'enterprise'] as const) {
    const was = tierPlan(before, tier).currency;
    const now = tierPlan(checked, tier);
    if (was !== now.currency && !problems.length)
      problems.push({
        path: `/plans/${checked.plans.indexOf(now)}/currency`,
        message: `must stay ${was}: tenants of the ${tier} tier without a plan change are billed on ${now.id}`,
        rule: 'currency',
      });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  await items.put(...PLANS_KEY, checked);
  return checked;
}

const PLAN_OWNED: (keyof TenantLimits)[] = [
  'submitRatePerSec',
  'submitBurst',
  'maxRunningJobs',
  'maxQueuedJobs',
  'weight',
];

/**
 * Puts a plan's limits on the tenant: its tier, and the limits the plan owns (rate, burst, concurrency,
 * queued jobs, weight) — set where the plan sets them, the tier's where it does not. Other limit
 * overrides (timeouts, costs, per model) stay.
 */
export async function applyPlanLimits(
  deps: ControlDeps,
  tenantId: TenantId,
  plan: BillingPlan,
): Promise<Tenant> {
  const current = await deps.directory.get(tenantId);
  if (!current) throw new NotFoundError(`Tenant "${tenantId}"`);
  const limits: Record<string, unknown> = { ...current.config.limits };
  for (const key of PLAN_OWNED) {
    if (plan.limits[key as keyof typeof plan.limits] !== undefined)
      limits[key] = plan.limits[key as keyof typeof plan.limits];
    else delete limits[key];
  }
  // The plan change is recorded already: the tier it sets is not recorded again as a change of its own.
  return updateTenant(deps, tenantId, { plan: plan.tier, config: { limits } }, { planRecorded: true });
}

export interface PlanChangeDeps extends ControlDeps {
  billing: BillingItems;
  /** Months whose statements are closed (or closing) cannot take a change (control/month-fence.ts `isClosed`). */
  isClosed(month: string): Promise<boolean>;
  /** Limits apply at once: the function host re-reads the tenant (hooks.tenantChanged). */
  tenantChanged?(tenantId: TenantId): Promise<void> | void;
}

/**
 * A plan change, effective from the start of a UTC day (default today). Recorded first (idempotent by
 * tenant/day/plan), then, when the day has come, the plan's limits are put on the tenant at once; a future
 * change is applied by `applyDuePlanChanges` when its day comes. Billing prorates by day either way.
 * @throws ConflictError `month_closed` (409) when a month from its day's to this one is closed, or its close
 *   began while the change was written and did not bill it (the change is void and not applied,
 *   control/month-fence.ts); `plan_currency_mixed` (409); ValidationError (400); NotFoundError (404)
 */
export async function changePlan(
  deps: PlanChangeDeps,
  tenantId: TenantId,
  planId: string,
  effective?: string,
  now = Date.now(),
): Promise<{ assignment: PlanAssignment; applied: boolean; plan: BillingPlan }> {
  const day = effective ?? utcDay(now);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(day) ||
    Number.isNaN(Date.parse(`${day}T00:00:00Z`)) ||
    utcDay(`${day}T00:00:00Z`) !== day
  )
    throw new ValidationError([
      { path: '/effective', message: 'must be a date, YYYY-MM-DD (UTC)', rule: 'format' },
    ]);
  const catalogue = await loadPlans(deps.billing);
  const plan = planById(catalogue, planId);
  if (!plan)
    throw new ValidationError([{ path: '/planId', message: `is not a plan (${planId})`, rule: 'enum' }]);
  const tenant = await deps.directory.get(tenantId);
  if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
  // Every month from its own to this one bills it: none of them may be closed (a change from 20 October
  // with November closed billed October and December on the new plan, November, stored, on the old).
  const months = monthsBetween(day.slice(0, 7), utcMonth(now));
  const closed = await firstClosed(deps.isClosed, months);
  if (closed)
    throw new ConflictError(
      `The statements of ${closed} are closed; a plan change can take effect from an open month after the last closed one.`,
      'month_closed',
    );
  const assignment: PlanAssignment = {
    id: `${tenantId}/${day}/${planId}`,
    tenantId,
    planId,
    effective: day,
    createdAt: new Date(now).toISOString(),
    incarnation: incarnationOf(tenant),
    plan,
  };
  // A statement bills in one currency: checked here, where the mix would enter, not when billing reads it.
  const mixed = monthMixingCurrencies(
    day.slice(0, 7),
    [...itemsOfIncarnation(tenant, undefined, await listAssignments(deps.billing, tenantId)), assignment],
    (id) => planById(catalogue, id),
    tierPlan(catalogue, tenant.plan),
  );
  if (mixed)
    throw new ConflictError(
      `${plan.name} bills in ${plan.currency}: from ${day}, ${mixed} would be billed in two currencies. ` +
        'Change to a plan of another currency from the 1st of a month.',
      'plan_currency_mixed',
    );
  await recordOpeningPlan(deps.billing, tenant, catalogue, day);
  // Keyed by incarnation too: an earlier tenant of this id that made the same change does not swallow it.
  // A close of one of its months begun since the check above bills it, or it is void (409, not applied).
  await putPlanChange(deps.billing, assignment, months);
  const applied = day <= utcDay(now);
  if (applied) {
    await applyPlanLimits(deps, tenantId, await planOn(deps.billing, tenant, utcDay(now)));
    await deps.tenantChanged?.(tenantId);
  }
  return { assignment, applied, plan };
}

/** Applies plan changes whose day has come to tenants still on their old tier or limits (idempotent). */
export async function applyDuePlanChanges(
  deps: PlanChangeDeps,
  tenants: readonly Tenant[],
  now = Date.now(),
): Promise<number> {
  let applied = 0;
  for (const tenant of tenants) {
    if (tenant.status === 'offboarding') continue;
    const own = itemsOfIncarnation(tenant, undefined, await listAssignments(deps.billing, tenant.id));
    const due = own.filter((a) => a.effective <= utcDay(now));
    if (due.length === 0) continue;
    const plan = await planOn(deps.billing, tenant, utcDay(now));
    const limits = tenant.config.limits as Record<string, unknown>;
    const same =
      tenant.plan === plan.tier &&
      PLAN_OWNED.every((k) => limits[k] === plan.limits[k as keyof typeof plan.limits]);
    if (same) continue;
    await applyPlanLimits(deps, tenant.id, plan);
    await deps.tenantChanged?.(tenant.id);
    applied++;
  }
  return applied;
}
