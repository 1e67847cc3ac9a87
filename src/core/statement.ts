import type { TenantId } from './ids.ts';
import { type Currency, currencyOf, microsToCents, priceUnits, roundRatio } from './money.ts';
import type { BillingPlan } from './plans.ts';
import { METERS, type Meter, monthRange, type UsageRecord } from './usage.ts';

/** A plan change: from `effective` (a UTC day, from its 00:00) the tenant is on `planId`. */
export interface PlanAssignment {
  /** `{tenantId}/{effective}/{planId}`: the same change asked twice is one change. */
  id: string;
  tenantId: TenantId;
  planId: string;
  effective: string;
  createdAt: string;
  /** The tenant incarnation it was made for (core/billing-incarnation.ts); absent on older records. */
  incarnation?: string;
  /** The plan as it was when the change was made: what bills it if the plan leaves the catalogue. */
  plan?: BillingPlan;
}

/** A correction: an amount (minor units, negative for a credit) on the statement of an open month. */
export interface Adjustment {
  id: string;
  tenantId: TenantId;
  month: string;
  amount: number;
  reason: string;
  createdAt: string;
  /** The tenant incarnation it was made for (core/billing-incarnation.ts); absent on older records. */
  incarnation?: string;
}

export interface StatementLine {
  kind: 'base_fee' | 'usage' | 'dedicated_surcharge' | 'adjustment';
  planId?: string;
  meter?: Meter;
  description: string;
  /** The UTC days the line covers (inclusive). */
  from: string;
  to: string;
  /** Units used (usage lines) or lane hours (surcharge). */
  quantity?: number;
  /** Units the plan includes for these days (prorated). */
  included?: number;
  /** Units billed beyond the included ones. */
  overage?: number;
  amount: number;
}

export interface Statement {
  tenantId: TenantId;
  month: string;
  currency: string;
  status: 'open' | 'closed';
  lines: StatementLine[];
  /** Sum of the lines, minor units. */
  total: number;
  /** What the platform paid for this tenant's usage (src/core/costing.ts), in cents of USD. */
  cost: number;
  /** `total − cost` when the plan's currency is USD (otherwise null: no exchange rate is assumed). */
  margin: number | null;
  usage: Record<Meter, number>;
  closedAt?: string;
}

/** A statement as its tenant sees it: what it owes, never what it cost the platform. */
export type TenantStatement = Omit<Statement, 'cost' | 'margin'>;

export interface PlanSegment {
  plan: BillingPlan;
  from: string;
  to: string;
}

const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / 86_400_000;
const dayOf = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10);

/**
 * Which plan covers which days of a UTC month: the last assignment effective on or before each day (the
 * later-made one when two take effect the same day) — its plan in the catalogue, or as it was when the
 * change was made if it has left the catalogue — else `fallback` (the tenant's tier's plan).
 */
export function planSegments(
  month: string,
  assignments: readonly PlanAssignment[],
  plans: (id: string) => BillingPlan | undefined,
  fallback: BillingPlan,
): PlanSegment[] {
  const { from, to } = monthRange(month);
  const sorted = [...assignments].sort(
    (a, b) => a.effective.localeCompare(b.effective) || a.createdAt.localeCompare(b.createdAt),
  );
  const planOn = (day: string) => {
    let plan = fallback;
    for (const a of sorted) if (a.effective <= day) plan = plans(a.planId) ?? a.plan ?? plan;
    return plan;
  };
  const segments: PlanSegment[] = [];
  for (let d = dayNumber(from); d <= dayNumber(to); d++) {
    const day = dayOf(d);
    const plan = planOn(day);
    const last = segments.at(-1);
    if (last && last.plan === plan) last.to = day;
    else segments.push({ plan, from: day, to: day });
  }
  return segments;
}

/**
 * The first month, from `fromMonth` on, whose plan segments would bill in more than one currency with
 * `assignments` (a statement has one currency: `buildStatement` refuses a mix), or undefined when none
 * would. Only a month in which some plan change takes effect can hold two plans: only those are looked at.
 */
export function monthMixingCurrencies(
  fromMonth: string,
  assignments: readonly PlanAssignment[],
  plans: (id: string) => BillingPlan | undefined,
  fallback: BillingPlan,
): string | undefined {
  const months = new Set(assignments.map((a) => a.effective.slice(0, 7)).filter((m) => m >= fromMonth));
  for (const month of [...months].sort()) {
    const segments = planSegments(month, assignments, plans, fallback);
    if (new Set(segments.map((s) => s.plan.currency)).size > 1) return month;
  }
  return undefined;
}

/** The UTC days (inclusive) a tenant existed in: from its creation day, to its offboarding day. */
export interface Lifetime {
  from?: string;
  to?: string;
}

/**
 * The plan segments cut to the days of `lifetime` (a day the tenant existed for some part of counts, as a
 * started lane hour does); none when it did not exist in the month.
 */
export function segmentsWithin(segments: readonly PlanSegment[], lifetime: Lifetime): PlanSegment[] {
  const out: PlanSegment[] = [];
  for (const s of segments) {
    const from = lifetime.from && lifetime.from > s.from ? lifetime.from : s.from;
    const to = lifetime.to && lifetime.to < s.to ? lifetime.to : s.to;
    if (from <= to) out.push({ plan: s.plan, from, to });
  }
  return out;
}

/**
 * A base fee (minor units a month) prorated to days `first`..`last` (1-based, inclusive) of a month of
 * `monthDays` days: the fee accrued by the end of `last` minus that accrued by the end of `first − 1`,
 * each `fee × day ÷ monthDays` rounded once the currency's way (`roundRatio`, src/core/money.ts: USD, EUR,
 * GBP half-even to the cent, JPY half-up to the yen). A line starting on the 1st or ending on the last day
 * is exactly `fee × days ÷ monthDays` rounded; one cut at both ends may differ from it by one minor unit,
 * so that the lines of a month never add up to more than the fee, and to the fee exactly when they cover
 * every day (docs/billing.md; the proration rule of Stripe and most SaaS billing: fee × days in effect ÷
 * days in the month).
 */
export function proratedFee(
  fee: number,
  first: number,
  last: number,
  monthDays: number,
  currency: Pick<Currency, 'rounding'>,
): number {
  const accrued = (day: number) =>
    roundRatio(BigInt(fee) * BigInt(day), BigInt(monthDays), currency.rounding);
  return accrued(last) - accrued(first - 1);
}

/**
 * A tenant's statement for a UTC month. Each plan segment — cut to the days the tenant existed (`lifetime`:
 * a tenant created or offboarded in the month pays for its days only) — bills its base fee prorated by
 * days (`proratedFee`), its included usage prorated by days (fee × days ÷ days in the month, rounded down),
 * overage per meter beyond the prorated included units at the plan's price, and the dedicated surcharge
 * by lane hours (rounded the currency's way). A month with segments in two currencies is refused (a plan
 * change keeps the currency). Pure; `costMicros` is the tenant's cost from attributeCosts.
 */
export function buildStatement(input: {
  tenantId: TenantId;
  month: string;
  segments: readonly PlanSegment[];
  records: readonly UsageRecord[];
  costMicros: number;
  adjustments: readonly Adjustment[];
  lifetime?: Lifetime;
}): Statement {
  const { month } = input;
  const currencies = new Set(input.segments.map((s) => s.plan.currency));
  if (currencies.size !== 1)
    throw new Error(`Plans of ${month} mix currencies: ${[...currencies].join(', ')}`);
  const currency = currencyOf(input.segments[0]!.plan.currency);
  const segments = segmentsWithin(input.segments, input.lifetime ?? {});
  const range = monthRange(month);
  const monthDays = BigInt(dayNumber(range.to) - dayNumber(range.from) + 1);
  const monthHours = monthDays * 24n;
  const lines: StatementLine[] = [];
  const usage = Object.fromEntries(METERS.map((m) => [m, 0])) as Record<Meter, number>;
  for (const r of input.records) usage[r.meter] += r.quantity;

  for (const seg of segments) {
    const first = dayNumber(seg.from) - dayNumber(range.from) + 1;
    const last = dayNumber(seg.to) - dayNumber(range.from) + 1;
    const days = BigInt(last - first + 1);
    const plan = seg.plan;
    const span = { from: seg.from, to: seg.to, planId: plan.id };
    lines.push({
      kind: 'base_fee',
      ...span,
      description: `${plan.name} base fee, ${days} of ${monthDays} days`,
      amount: proratedFee(plan.baseFee, first, last, Number(monthDays), currency),
    });
    const used = Object.fromEntries(METERS.map((m) => [m, 0])) as Record<Meter, number>;
    for (const r of input.records) if (r.day >= seg.from && r.day <= seg.to) used[r.meter] += r.quantity;
    for (const meter of METERS) {
      const price = Object.hasOwn(plan.overage, meter) ? plan.overage[meter] : undefined;
      if (!price) continue;
      const included = Number((BigInt(plan.included[meter] ?? 0) * days) / monthDays);
      const overage = Math.max(0, used[meter] - included);
      lines.push({
        kind: 'usage',
        ...span,
        meter,
        description: `${meter}: ${used[meter]} used, ${included} included`,
        quantity: used[meter],
        included,
        overage,
        amount: priceUnits(overage, price, currency),
      });
    }
    if (plan.dedicatedSurcharge > 0 && used.dedicated_lane_hours > 0) {
      lines.push({
        kind: 'dedicated_surcharge',
        ...span,
        description: `Dedicated placement, ${used.dedicated_lane_hours} of ${monthHours} hours`,
        quantity: used.dedicated_lane_hours,
        amount: roundRatio(
          BigInt(plan.dedicatedSurcharge) * BigInt(used.dedicated_lane_hours),
          monthHours,
          currency.rounding,
        ),
      });
    }
  }
  for (const a of input.adjustments) {
    lines.push({
      kind: 'adjustment',
      description: a.reason,
      from: range.from,
      to: range.to,
      amount: a.amount,
    });
  }
  const total = lines.reduce((sum, l) => sum + l.amount, 0);
  const cost = microsToCents(input.costMicros);
  return {
    tenantId: input.tenantId,
    month,
    currency: currency.code,
    status: 'open',
    lines,
    total,
    cost,
    margin: currency.code === 'USD' ? total - cost : null,
    usage,
  };
}

/**
 * What a month of `plan` bills for `usage` (units per meter), in the plan's minor units: its whole base fee
 * and, per meter it prices, the units beyond its monthly allowance at its overage price (rounded the
 * currency's way, as `buildStatement` rounds a line). No proration, no surcharge, no adjustments: the
 * placement advisor's run rate of a tenant at the plan it is on now (control/advisor-money.ts).
 */
export function chargesAtPlan(plan: BillingPlan, usage: Readonly<Record<Meter, number>>): number {
  const currency = currencyOf(plan.currency);
  let total = plan.baseFee;
  for (const meter of METERS) {
    const price = Object.hasOwn(plan.overage, meter) ? plan.overage[meter] : undefined;
    if (!price) continue;
    total += priceUnits(Math.max(0, usage[meter] - (plan.included[meter] ?? 0)), price, currency);
  }
  return total;
}
