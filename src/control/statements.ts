import { randomUUID } from 'node:crypto';
import {
  type BillingIncarnation,
  isBeforeIncarnation,
  itemsOfIncarnation,
  lifetimeIn,
  recordsOfIncarnation,
} from '../core/billing-incarnation.ts';
import { attributeCosts, type CostTable } from '../core/costing.ts';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { PlanCatalogue } from '../core/plans.ts';
import {
  type Adjustment,
  buildStatement,
  type PlanAssignment,
  planSegments,
  type Statement,
  type TenantStatement,
} from '../core/statement.ts';
import { incarnationOf, type Tenant } from '../core/tenant.ts';
import { monthRange, type UsageRecord, utcMonth } from '../core/usage.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';
import { formerTenantsDuring } from './former-tenants.ts';
import {
  adjustmentFateKey,
  claimForClose,
  closeFinished,
  creationFateKey,
  freeCloseSlot,
  isClosed,
  markClosed,
  markClosing,
  monthsBetween,
  planFateKey,
  settleWrite,
  takeCloseSlot,
  voidedAdjustments,
} from './month-fence.ts';
import { listAssignments, loadPlans, tierPlan } from './plans.ts';
import { allTenants } from './tenants.ts';

export { isClosed } from './month-fence.ts';

export interface BillingDeps {
  directory: TenantDirectory;
  usage: UsageLedger;
  billing: BillingItems;
  costs: CostTable;
}

/** A tenant as a statement bills it: its plan tier, incarnation and lifetime. */
type Billed = Pick<Tenant, 'id' | 'plan'> & BillingIncarnation;

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
/** The largest amount of one adjustment, in minor units (as a plan's base fee): ten billion dollars. */
export const MAX_AMOUNT_MINOR = 1e12;
const tenantKey = (tenantId: TenantId) => `B#T#${tenantId}`;

export function parseMonth(value: unknown, path = '/month'): string {
  if (typeof value !== 'string' || !MONTH.test(value))
    throw new ValidationError([{ path, message: 'must be a month, YYYY-MM (UTC)', rule: 'format' }]);
  return value;
}

/**
 * Every tenant's statement of a month, computed from the ledger (open months) or as stored (closed ones).
 * Tenants offboarded since still have their usage billed (on their last plan, or the free tier's plan).
 * An open month's is what it closes at if nothing more is used: usage so far, fixed fees and costs whole.
 */
export async function monthStatements(
  deps: BillingDeps,
  month: string,
  closing?: Closing,
): Promise<Statement[]> {
  parseMonth(month);
  const range = monthRange(month);
  const records = await deps.usage.list(range);
  const tenants = await allTenants(deps);
  // Who a month's statement is for: the tenant now under the id from its month of creation on; before it,
  // the latest incarnation offboarded that lived in the month (billed on the plan and days it had).
  let active = tenants.filter((t) => Date.parse(t.createdAt) <= Date.parse(`${range.to}T23:59:59.999Z`));
  // A close bills a tenant it lists only once it has claimed the tenant's creation: one whose creation
  // finished after the close began and claimed it void first is dated the next month (control/creation-fence.ts).
  if (closing) {
    const billed = await Promise.all(
      active.map((t) => claimForClose(deps.billing, creationFateKey(t), month, closing.at)),
    );
    active = active.filter((_, i) => billed[i]);
  }
  const known = new Map<string, Billed>(active.map((t) => [t.id as string, t]));
  const former = (await formerTenantsDuring(deps.billing, range))
    .filter((f) => !known.has(f.tenantId))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const f of former)
    known.set(f.tenantId, {
      id: f.tenantId,
      plan: f.plan,
      createdAt: f.createdAt,
      offboardedAt: f.offboardedAt,
      ...(f.incarnation ? { incarnation: f.incarnation } : {}),
    });
  const live = new Map<string, Billed>(
    tenants.filter((t) => !closing || known.has(t.id)).map((t) => [t.id as string, t]),
  );
  // A statement's fixed costs are a whole month's, open or closed: its base fee is (docs/billing.md
  // "Open months"), and days-so-far costs against a whole fee made early-month margins look too good.
  const costs = attributeCosts(records, deps.costs, {
    months: 1,
    tenants: [...active.map((t) => t.id), ...new Set(former.map((f) => f.tenantId))],
  });
  const closed = await isClosed(deps.billing, month);
  // A finished close's statements are the ones it stored: a tenant without one was not billed that month
  // (a creation that lost the race with the close), and computing one here showed a statement no close made.
  const finished = closed && (await closeFinished(deps.billing, month));
  // One catalogue prices the whole month: read per tenant, a catalogue saved during a close priced some
  // of its statements at the old fees and the rest at the new.
  const catalogue = await loadPlans(deps.billing);
  const out: Statement[] = [];
  for (const cost of costs.tenants) {
    const stored = closed
      ? await deps.billing.get<Statement>(tenantKey(cost.tenantId), `ST#${month}`)
      : undefined;
    if (stored) {
      out.push(stored);
      continue;
    }
    if (finished) continue;
    const tenant = known.get(cost.tenantId) ??
      live.get(cost.tenantId) ?? { id: cost.tenantId, plan: 'free' as const };
    out.push(
      await computeStatement(
        deps,
        tenant,
        month,
        {
          records: records.filter((r) => r.tenantId === cost.tenantId),
          costMicros: cost.totalMicros,
        },
        { catalogue, ...(closing ? { closing } : {}) },
      ),
    );
  }
  return out;
}

/** A close under way: the month it closes and when (its statements' `closedAt`). */
interface Closing {
  at: string;
}

/**
 * One tenant id's statement of a month, from what belongs to it: for a tenant created again under an
 * earlier tenant's id, only its own usage, plan changes and corrections (core/billing-incarnation.ts).
 * `catalogue` prices it (default: the stored one). For a close (`closing`), each correction and each plan change in effect by the month's end is claimed
 * as billed first (control/month-fence.ts), and one its writer voided first is left out.
 */
async function computeStatement(
  deps: Pick<BillingDeps, 'billing'>,
  tenant: Pick<Tenant, 'id' | 'plan'> & BillingIncarnation,
  month: string,
  usage: {
    records: readonly UsageRecord[];
    costMicros: number;
  },
  options: { closing?: Closing; catalogue?: PlanCatalogue } = {},
): Promise<Statement> {
  const { closing } = options;
  const catalogue = options.catalogue ?? (await loadPlans(deps.billing));
  let assignments = itemsOfIncarnation(tenant, month, await listAssignments(deps.billing, tenant.id));
  let adjustments = itemsOfIncarnation(tenant, month, await listAdjustments(deps.billing, tenant.id, month));
  if (closing) {
    const { to } = monthRange(month);
    const billed = async (key: readonly [string, string], span?: string[]) =>
      claimForClose(deps.billing, key, month, closing.at, span);
    // A plan change's writer settles with the closes of its month to the month it was written in (plans.ts).
    const span = (a: PlanAssignment) => monthsBetween(a.effective.slice(0, 7), utcMonth(a.createdAt));
    const keepPlan = await Promise.all(
      assignments.map((a) => (a.effective > to ? true : billed(planFateKey(a), span(a)))),
    );
    assignments = assignments.filter((_, i) => keepPlan[i]);
    const keepAdj = await Promise.all(adjustments.map((a) => billed(adjustmentFateKey(a))));
    adjustments = adjustments.filter((_, i) => keepAdj[i]);
  }
  const segments = planSegments(
    month,
    assignments,
    (id) => catalogue.plans.find((p) => p.id === id),
    tierPlan(catalogue, tenant.plan),
  );
  return buildStatement({
    tenantId: tenant.id,
    month,
    segments,
    records: isBeforeIncarnation(tenant, month) ? usage.records : recordsOfIncarnation(tenant, usage.records),
    costMicros: usage.costMicros,
    adjustments,
    lifetime: lifetimeIn(tenant, month),
  });
}

/**
 * One tenant id's statement of a month (its cost needs the month's whole attribution: shared costs split by
 * share), for operators. A month before this tenant was created is a predecessor's under the same id: its
 * stored or computed statement when one lived in it or left usage, else NotFoundError (404) — no statement
 * is made up for a month in which the id billed nothing (as `ownStatement` answers tenants); so too for an
 * id with no tenant record now (`createdAt` unknown) and nothing billed in the month.
 */
export async function statementFor(
  deps: BillingDeps,
  tenant: Pick<Tenant, 'id' | 'plan'> & BillingIncarnation,
  month: string,
): Promise<Statement> {
  parseMonth(month);
  const stored = await deps.billing.get<Statement>(tenantKey(tenant.id), `ST#${month}`);
  if (stored) return stored;
  const all = await monthStatements(deps, month);
  const found = all.find((s) => s.tenantId === tenant.id);
  if (found) return found;
  // A tenant id with no record (never created, or offboarded) and nothing in the month has no statement.
  if (
    isBeforeIncarnation(tenant, month) ||
    tenant.createdAt === undefined ||
    (await closeFinished(deps.billing, month))
  )
    throw new NotFoundError(
      `A statement of ${month} for tenant "${tenant.id}" (created ${tenant.createdAt})`,
    );
  return computeStatement(deps, tenant, month, { records: [], costMicros: 0 });
}

/**
 * Closes a month that has ended, one month at a time (409 `close_in_progress` while another month's close
 * holds the close slot, control/month-fence.ts): its intent is recorded first (CLOSING: from then on writers of the month
 * are refused, and one that wrote before seeing it settles with the close which of them wins its item,
 * control/month-fence.ts), each tenant's statement is stored once (a conditional put; a statement already
 * stored is kept, never rewritten), then the month is marked closed. Retrying after a crash completes it
 * with the same result.
 */
export async function closeMonth(deps: BillingDeps, month: string, now = Date.now()): Promise<Statement[]> {
  parseMonth(month);
  if (month >= utcMonth(now))
    throw new ConflictError(`${month} has not ended (UTC); only past months can be closed.`, 'month_open');
  // Closed already: its stored statements (monthStatements returns them, and no other).
  if (await closeFinished(deps.billing, month)) return monthStatements(deps, month);
  const closedAt = new Date(now).toISOString();
  const slot = await takeCloseSlot(deps.billing, month, closedAt);
  await markClosing(deps.billing, month, closedAt);
  const out: Statement[] = [];
  for (const st of await monthStatements(deps, month, { at: closedAt })) {
    const closed: Statement = st.status === 'closed' ? st : { ...st, status: 'closed', closedAt };
    await deps.billing.put(tenantKey(st.tenantId), `ST#${month}`, closed, { ifAbsent: true });
    out.push((await deps.billing.get<Statement>(tenantKey(st.tenantId), `ST#${month}`)) ?? closed);
  }
  await markClosed(deps.billing, month, closedAt);
  await freeCloseSlot(deps.billing, slot);
  return out;
}

/** The tenant id's corrections of a month, but for those that missed its close (void, 409 to their writer). */
export async function listAdjustments(
  billing: BillingItems,
  tenantId: TenantId,
  month: string,
): Promise<Adjustment[]> {
  const all = await billing.query<Adjustment>(tenantKey(tenantId), `ADJ#${month}#`);
  const voided = await voidedAdjustments(billing, tenantId, month);
  return voided.size === 0 ? all : all.filter((a) => !voided.has(adjustmentFateKey(a)[1]));
}

/**
 * Whether the tenant id has a statement of `month` (as `monthStatements` makes them): a tenant under the id
 * created by the month's end, an offboarded one that lived during it, or usage recorded in it.
 */
async function billedIn(
  deps: Pick<BillingDeps, 'billing' | 'usage'>,
  tenantId: TenantId,
  month: string,
  tenant: Tenant | undefined,
): Promise<boolean> {
  const range = monthRange(month);
  if (tenant && Date.parse(tenant.createdAt) <= Date.parse(`${range.to}T23:59:59.999Z`)) return true;
  if ((await formerTenantsDuring(deps.billing, range)).some((f) => f.tenantId === tenantId)) return true;
  return (await deps.usage.forTenant(tenantId).list(range)).length > 0;
}

/**
 * A correction on an open month's statement (default: the current month). Refused: a closed month (409
 * `month_closed`), a month whose close began while the correction was written and did not bill it (409
 * `month_closed`; the correction is void: on no statement and in no list, control/month-fence.ts); a month
 * with no statement for the id (404: no tenant under it then, offboarded or not, and no usage), where it
 * was stored and shown on no statement, ever.
 */
export async function addAdjustment(
  deps: Pick<BillingDeps, 'billing' | 'directory' | 'usage'>,
  tenantId: TenantId,
  input: { amount: unknown; reason: unknown; month?: unknown },
  now = Date.now(),
  id: string = randomUUID(),
): Promise<Adjustment> {
  const month = input.month === undefined ? utcMonth(now) : parseMonth(input.month);
  // Bounded as plan fees are (PLANS_SCHEMA): sums of amounts near 2^53 would be rounded silently.
  if (
    typeof input.amount !== 'number' ||
    !Number.isInteger(input.amount) ||
    input.amount === 0 ||
    Math.abs(input.amount) > MAX_AMOUNT_MINOR
  )
    throw new ValidationError([
      {
        path: '/amount',
        message: `must be a non-zero whole number of minor units (cents), at most ${MAX_AMOUNT_MINOR} either way`,
        rule: 'range',
      },
    ]);
  if (typeof input.reason !== 'string' || input.reason.trim().length === 0 || input.reason.length > 500)
    throw new ValidationError([{ path: '/reason', message: 'must be 1-500 characters', rule: 'length' }]);
  if (await isClosed(deps.billing, month))
    throw new ConflictError(`${month} is closed; put the correction on an open month.`, 'month_closed');
  // Made for the tenant now under this id (none when it is offboarded: then it is its predecessor's).
  const tenant = await deps.directory.get(tenantId);
  if (!(await billedIn(deps, tenantId, month, tenant)))
    throw new NotFoundError(
      `A statement of ${month} for tenant "${tenantId}" to put the correction on (no tenant of this id lived that month)`,
    );
  const adjustment: Adjustment = {
    // Given by an Idempotency-Key's claim (with `now`): a repeat writes the same item (billing-idempotency.ts).
    id,
    tenantId,
    month,
    amount: input.amount,
    reason: input.reason.trim(),
    createdAt: new Date(now).toISOString(),
    ...(tenant ? { incarnation: incarnationOf(tenant) } : {}),
  };
  await deps.billing.put(
    tenantKey(tenantId),
    `ADJ#${month}#${adjustment.createdAt}#${adjustment.id}`,
    adjustment,
  );
  // Its month may have begun closing since the check above: the close bills it, or it is void.
  if (await settleWrite(deps.billing, adjustmentFateKey(adjustment), [month], adjustment.createdAt))
    throw new ConflictError(
      `${month} was closed while the correction was written; put it on an open month.`,
      'month_closed',
    );
  return adjustment;
}

function withoutCost({ cost: _c, margin: _m, ...rest }: Statement): TenantStatement {
  return rest;
}

/**
 * A tenant's own statement of a month, for tenant routes: the stored one, or computed from the tenant's
 * own ledger view (`forTenant`) alone. No cost: attributing the platform's cost reads every tenant's usage
 * (and tenants never see it). A month before this tenant existed has none (NotFoundError).
 */
export async function ownStatement(
  deps: Pick<BillingDeps, 'usage' | 'billing'>,
  tenant: Pick<Tenant, 'id' | 'plan'> & BillingIncarnation,
  month: string,
): Promise<TenantStatement> {
  parseMonth(month);
  if (isBeforeIncarnation(tenant, month)) throw new NotFoundError(`A statement of ${month}`);
  const stored = await deps.billing.get<Statement>(tenantKey(tenant.id), `ST#${month}`);
  if (stored) return withoutCost(stored);
  if (await closeFinished(deps.billing, month)) throw new NotFoundError(`A statement of ${month}`);
  const records = await deps.usage.forTenant(tenant.id).list(monthRange(month));
  return withoutCost(await computeStatement(deps, tenant, month, { records, costMicros: 0 }));
}

/** A tenant's own statements, for tenant routes: its closed ones, then the current month's (open). */
export async function ownStatements(
  deps: Pick<BillingDeps, 'usage' | 'billing'>,
  tenant: Pick<Tenant, 'id' | 'plan'> & BillingIncarnation,
  now = Date.now(),
): Promise<TenantStatement[]> {
  const closed = await deps.billing.query<Statement>(tenantKey(tenant.id), 'ST#');
  const current = utcMonth(now);
  return [
    ...closed.filter((st) => st.month !== current && !isBeforeIncarnation(tenant, st.month)).map(withoutCost),
    await ownStatement(deps, tenant, current),
  ];
}

/** The tenant's statements: every closed one, then the current month's (open) when it has one. */
export async function listStatements(
  deps: BillingDeps,
  tenant: Pick<Tenant, 'id' | 'plan'> & BillingIncarnation,
  now = Date.now(),
) {
  const closed = await deps.billing.query<Statement>(tenantKey(tenant.id), 'ST#');
  const current = await statementFor(deps, tenant, utcMonth(now)).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
  return current ? [...closed, current] : closed;
}
