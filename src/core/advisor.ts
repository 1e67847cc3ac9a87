import { dedicatedFixedUsd, perJobUsd, sharedFixedUsd } from './aws-cost.ts';
import type { Placement, Plan } from './tenant.ts';

/** What the advisor knows of one tenant, per month. */
export interface PlacementSignals {
  tenantId: string;
  placement: Placement;
  plan: Plan;
  jobsPerMonth: number;
  computeSecondsPerMonth: number;
  /** This tenant's part of all shared-lane compute (0–1); for a dedicated tenant, what it would be. */
  shareOfSharedCompute: number;
  /** Recent queued→started wait, 95th percentile. */
  waitP95Sec: number;
  /** The tenant's contract requires its own resources (compliance). */
  requiresIsolation: boolean;
  /** How long ago (ms) an operator set the current placement (a move, or onboarding as dedicated), if known. */
  placedByOperatorAgoMs?: number;
  /** Its contract region is not the platform's: shared placement would put its data elsewhere. */
  foreignRegion?: string;
  /** What the tenant pays and costs a month, where billing knows (USD plans only). */
  money?: TenantMoney;
  /** Tenants on the platform (the decision matrix: dedicated suits fewer than 50, shared more than 100). */
  tenantCount?: number;
  /**
   * Why the platform would refuse to make this tenant dedicated, if it would (an id too long for its
   * lanes' queue names, a contract region it cannot deploy to): a promotion is then never advised.
   */
  cannotBeDedicated?: string;
}

/** A tenant's month in USD, independent of where it runs, so the same figures judge both placements. */
export interface TenantMoney {
  /**
   * A month of the plan the tenant is on now: its base fee and this month's usage charges at that plan's
   * prices, without the dedicated surcharge (control/advisor-money.ts; not the prorated statement).
   */
  revenueUsd: number;
  /** What its usage costs on shared lanes (src/core/costing.ts), without a dedicated stack's fixed cost. */
  costUsd: number;
  /** What its plan charges a month for a dedicated placement. */
  dedicatedSurchargeUsd: number;
}

/** Monthly prices per placement (AWS list prices, us-east-1; see docs/aws.md "Monthly cost per tenant"). */
export interface PlacementPrices {
  perJobUsd: number;
  sharedFixedUsd: number;
  dedicatedFixedUsd: number;
}

/** The itemized model's defaults (src/core/aws-cost.ts): X-Ray on, a dashboard per dedicated tenant, rotated keys. */
export const LIST_PRICES: PlacementPrices = {
  perJobUsd: perJobUsd(),
  sharedFixedUsd: sharedFixedUsd(),
  dedicatedFixedUsd: dedicatedFixedUsd(),
};

export interface AdvisorPolicy {
  /** Promote when a shared tenant uses more than this part of shared compute (a noisy neighbour)… */
  promoteShare: number;
  /** …and demote a dedicated one only below this part: the gap keeps a tenant from flapping. */
  demoteShare: number;
  /** Promote an enterprise tenant whose jobs wait longer than this in the shared lanes. */
  maxWaitSec: number;
  /** Below this many jobs a month a tenant is too small to judge as noisy. */
  minJobsPerMonth: number;
  /** A placement an operator set this recently (ms) is not proposed for reversal; 0 turns this off. */
  respectOperatorMs: number;
  /** The seed's decision matrix: dedicated for tenants paying more than this a month (USD)… */
  dedicatedRevenueUsd: number;
  /** …shared for those paying less: between the two a tenant stays where it is. */
  sharedRevenueUsd: number;
}

export const DEFAULT_POLICY: AdvisorPolicy = {
  promoteShare: 0.3,
  demoteShare: 0.1,
  maxWaitSec: 30,
  minJobsPerMonth: 1000,
  respectOperatorMs: 7 * 86_400_000,
  dedicatedRevenueUsd: 10_000,
  sharedRevenueUsd: 1_000,
};

export interface Recommendation {
  tenantId: string;
  current: Placement;
  recommended: Placement;
  action: 'keep' | 'promote' | 'demote';
  reasons: string[];
  monthlyCostUsd: { shared: number; dedicated: number };
  /** Recommended minus current monthly cost: what following the advice costs (negative: saves). */
  deltaUsd: number;
  /** Monthly margin (revenue − cost, USD) in each placement, where billing knows the revenue. */
  marginUsd?: { shared: number; dedicated: number };
  /** Why the platform refuses to make this tenant dedicated: no promotion is advised for it. */
  cannotBeDedicated?: string;
}

const usd = (x: number) =>
  `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** Monthly margin in each placement: a dedicated one adds the plan's surcharge and the stack's fixed cost. */
export function marginByPlacement(money: TenantMoney, prices: PlacementPrices = LIST_PRICES) {
  const premium = prices.dedicatedFixedUsd - prices.sharedFixedUsd;
  const shared = money.revenueUsd - money.costUsd;
  return { shared, dedicated: shared + money.dedicatedSurchargeUsd - premium };
}

export function monthlyCost(signals: PlacementSignals, prices: PlacementPrices = LIST_PRICES) {
  const usage = signals.jobsPerMonth * prices.perJobUsd;
  return { shared: usage + prices.sharedFixedUsd, dedicated: usage + prices.dedicatedFixedUsd };
}

/**
 * Where a tenant should run. Isolation requirements decide first; then protection of the shared lanes
 * from a tenant taking a large part of them; then latency for plans that pay for it; otherwise the
 * cheaper placement, which for the same usage is always shared (a dedicated stack has a fixed cost).
 */
export function recommendPlacement(
  signals: PlacementSignals,
  policy: AdvisorPolicy = DEFAULT_POLICY,
  prices: PlacementPrices = LIST_PRICES,
): Recommendation {
  const cost = monthlyCost(signals, prices);
  const money = signals.money;
  const margin = money ? marginByPlacement(money, prices) : undefined;
  const reasons: string[] = [];
  const big = signals.jobsPerMonth >= policy.minJobsPerMonth;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  // Thresholds to stay dedicated are lower than those to become dedicated (hysteresis): the same
  // signals that promote a tenant always keep it, so following the advice never flaps.
  const dedicatedNow = signals.placement === 'dedicated';
  const shareBar = dedicatedNow ? policy.demoteShare : policy.promoteShare;
  const waitBar = dedicatedNow ? policy.maxWaitSec / 4 : policy.maxWaitSec;
  let recommended: Placement = 'dedicated';
  if (signals.foreignRegion) {
    reasons.push(
      `its contract region ${signals.foreignRegion} is not the platform's: shared stores are elsewhere`,
    );
  } else if (signals.requiresIsolation) {
    reasons.push('its contract requires isolated resources');
  } else if (big && signals.shareOfSharedCompute > shareBar) {
    reasons.push(
      dedicatedNow
        ? `it would take ${pct(signals.shareOfSharedCompute)} of shared compute (it moves back below ${pct(policy.demoteShare)})`
        : `it uses ${pct(signals.shareOfSharedCompute)} of shared compute (over ${pct(policy.promoteShare)}): its own lane protects the other tenants`,
    );
  } else if (signals.plan === 'enterprise' && signals.waitP95Sec > waitBar) {
    reasons.push(
      `its jobs wait ${signals.waitP95Sec.toFixed(0)} s (p95); its plan expects predictable starts under ${policy.maxWaitSec} s`,
    );
  } else if (margin && money && paysForDedicated(money, margin, dedicatedNow, policy)) {
    // The decision matrix: high-value tenants get their own lanes when their margin pays for the stack;
    // once there they stay while they pay more than the shared line and the margin stays positive.
    reasons.push(
      dedicatedNow
        ? `it pays ${usd(money.revenueUsd)} a month (the matrix moves tenants under ${usd(policy.sharedRevenueUsd)} to shared) and its margin stays ${usd(margin.dedicated)} dedicated`
        : `it pays ${usd(money.revenueUsd)} a month, above the matrix's ${usd(policy.dedicatedRevenueUsd)} line; dedicated adds ${usd(money.dedicatedSurchargeUsd)} of surcharge and ${usd(cost.dedicated - cost.shared)} of cost: margin ${usd(margin.shared)} → ${usd(margin.dedicated)}`,
    );
    if (signals.tenantCount !== undefined && signals.tenantCount > 100)
      reasons.push(`the platform has ${signals.tenantCount} tenants: the matrix keeps most of them shared`);
  } else if (margin && money && dedicatedNow) {
    recommended = 'shared';
    reasons.push(
      money.revenueUsd < policy.sharedRevenueUsd
        ? `it pays ${usd(money.revenueUsd)} a month, under the matrix's ${usd(policy.sharedRevenueUsd)} line; shared saves ${usd(cost.dedicated - cost.shared)} a month (margin ${usd(margin.dedicated)} → ${usd(margin.shared)})`
        : `its dedicated margin is ${usd(margin.dedicated)}: the stack costs more than it brings; shared makes it ${usd(margin.shared)}`,
    );
  } else {
    recommended = 'shared';
    reasons.push(
      dedicatedNow
        ? `its load no longer needs its own lane; shared saves $${(cost.dedicated - cost.shared).toFixed(2)} a month`
        : 'shared is the cheaper placement and its load does not disturb other tenants',
    );
  }
  let action: Recommendation['action'] =
    recommended === signals.placement ? 'keep' : recommended === 'dedicated' ? 'promote' : 'demote';
  // Advice the platform would refuse is no advice: applied, it was listed as refused on every pass (the
  // move runner, placement-move.ts, checks the same problem), and the console offered a button that failed.
  if (action === 'promote' && signals.cannotBeDedicated !== undefined) {
    reasons.splice(
      0,
      reasons.length,
      `it cannot be dedicated: ${signals.cannotBeDedicated} (otherwise: promote, as ${reasons.join('; ')})`,
    );
    recommended = signals.placement;
    action = 'keep';
  }
  // An operator's recent choice stands over usage-based advice (they may know of a contract or a launch the
  // numbers do not show); only an isolation requirement, which is a contract, overrides it.
  const ago = signals.placedByOperatorAgoMs;
  if (
    action !== 'keep' &&
    !signals.requiresIsolation &&
    ago !== undefined &&
    ago < policy.respectOperatorMs
  ) {
    reasons.splice(
      0,
      reasons.length,
      `an operator placed it ${signals.placement} ${describeAgo(ago)} ago; operator decisions stand for ${describeAgo(policy.respectOperatorMs)} (otherwise: ${action}, as ${reasons.join('; ')})`,
    );
    recommended = signals.placement;
    action = 'keep';
  }
  return {
    tenantId: signals.tenantId,
    current: signals.placement,
    recommended,
    action,
    reasons,
    monthlyCostUsd: cost,
    deltaUsd: cost[recommended] - cost[signals.placement],
    ...(margin ? { marginUsd: margin } : {}),
    ...(signals.cannotBeDedicated !== undefined ? { cannotBeDedicated: signals.cannotBeDedicated } : {}),
  };
}

/** `90_000` → `2 minutes`: rounded to the largest whole unit, for reasons people read. */
export function describeAgo(ms: number): string {
  for (const [unit, size] of [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
  ] as const) {
    if (ms >= size) {
      const n = Math.floor(ms / size);
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return 'less than a minute';
}

/** Promote above the dedicated revenue line, keep above the shared one: both only with a positive dedicated margin. */
function paysForDedicated(
  money: TenantMoney,
  margin: { dedicated: number },
  dedicatedNow: boolean,
  policy: AdvisorPolicy,
): boolean {
  const line = dedicatedNow ? policy.sharedRevenueUsd : policy.dedicatedRevenueUsd;
  return money.revenueUsd >= line && margin.dedicated > 0;
}
