import {
  type AdvisorPolicy,
  DEFAULT_POLICY,
  LIST_PRICES,
  type PlacementPrices,
  type PlacementSignals,
  type Recommendation,
  recommendPlacement,
  type TenantMoney,
} from '../core/advisor.ts';
import { dedicatedRegionProblem, type RegionPolicy } from '../core/region.ts';
import { incarnationOf, type Placement, type Tenant } from '../core/tenant.ts';
import { type PaceBasis, paceBasis, paceFraction } from '../core/usage-period.ts';
import type { OperationStore } from '../ports/operation-store.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { placementDecisions } from './advisor-decisions.ts';
import { tenantMoney } from './advisor-money.ts';
import { dedicatedPlacementProblem } from './lanes.ts';
import type { BillingDeps } from './statements.ts';
import { allTenants } from './tenants.ts';

export { respectOperatorMsFrom } from './advisor-decisions.ts';

import { type TenantUsage, type UsageDeps, usageReport } from './usage.ts';

const DAY_MS = 86_400_000;
const MONTH_MS = 30 * DAY_MS;

/**
 * Turns stored usage into per-month signals. With `basis` (the usage was counted over its calendar month so
 * far): totals ÷ `paceFraction`, a month at the pace so far, as the advisor's money is (advisor-money.ts).
 * Without: totals over the tenant's whole age (at least a day), per 30 days.
 */
export function signalsFrom(
  tenants: Tenant[],
  usage: TenantUsage[],
  now = Date.now(),
  basis?: PaceBasis,
  decisions: ReadonlyMap<string, number> = new Map(),
  regions?: RegionPolicy,
  money?: ReadonlyMap<string, TenantMoney>,
): PlacementSignals[] {
  const platformRegion = regions?.region;
  const byId = new Map(usage.map((u) => [u.tenantId, u]));
  const sharedCompute = tenants
    .filter((t) => t.placement === 'shared')
    .reduce((sum, t) => sum + (byId.get(t.id)?.computeSeconds ?? 0), 0);
  return tenants
    .filter((t) => t.status === 'active' && !t.move)
    .map((tenant) => {
      const u = byId.get(tenant.id);
      const months = basis
        ? paceFraction(basis, tenant.createdAt)
        : Math.max(DAY_MS, now - Date.parse(tenant.createdAt)) / MONTH_MS;
      const compute = u?.computeSeconds ?? 0;
      // A dedicated tenant's share is what it would take if it joined the shared lanes.
      const pool = tenant.placement === 'shared' ? sharedCompute : sharedCompute + compute;
      const decidedAt = decisions.get(tenant.id);
      return {
        tenantId: tenant.id,
        placement: tenant.placement,
        plan: tenant.plan,
        jobsPerMonth: (u?.jobs ?? 0) / months,
        computeSecondsPerMonth: compute / months,
        shareOfSharedCompute: pool > 0 ? compute / pool : 0,
        waitP95Sec: u?.waitP95Sec ?? 0,
        requiresIsolation: tenant.config.placementPolicy?.requiresIsolation === true,
        ...(decidedAt !== undefined ? { placedByOperatorAgoMs: Math.max(0, now - decidedAt) } : {}),
        ...(tenant.region && platformRegion && tenant.region !== platformRegion
          ? { foreignRegion: tenant.region }
          : {}),
        ...(money?.has(tenant.id) ? { money: money.get(tenant.id)!, tenantCount: tenants.length } : {}),
        ...refusedDedicated(tenant, regions),
      };
    });
}

/** What the move runner (placement-move.ts `start`) would refuse a promotion of this tenant for. */
function refusedDedicated(tenant: Tenant, regions?: RegionPolicy): { cannotBeDedicated?: string } {
  const problem =
    dedicatedPlacementProblem(tenant.id) ??
    (regions ? dedicatedRegionProblem(tenant.region, regions) : undefined);
  return problem !== undefined ? { cannotBeDedicated: problem } : {};
}

export interface AdvisorDeps {
  directory: TenantDirectory;
  /** Usage counted over `basis.period` when a basis is given (`paceBasis`), else over all history. */
  usage(basis?: PaceBasis): Promise<TenantUsage[]>;
  /** The period a pass reads and scales to a month; default none (all history, per 30 days). */
  basis?(now: number): PaceBasis;
  /** Revenue and cost per tenant (control/advisor-money.ts) on the same basis, where the platform bills. */
  money?(basis?: PaceBasis): Promise<ReadonlyMap<string, TenantMoney>>;
  policy?: AdvisorPolicy;
  prices?: PlacementPrices;
  /** When an operator last set each tenant's placement (ms since the epoch); see `placementDecisions`. */
  decisions?(tenants: Tenant[]): Promise<ReadonlyMap<string, number>>;
  /**
   * Where the platform places tenants: one whose contract names another region than the platform's is
   * never advised shared, and one whose region dedicated lanes cannot reach is never advised dedicated.
   */
  regions?: RegionPolicy;
}

/**
 * The advisor over a platform's stores: usage of this calendar month so far (`paceBasis`), read back only
 * that far, and money on the same basis; with the
 * operation store, placements operators set within `respectOperatorMs` (default 7 days) are left alone;
 * with billing, revenue, cost and margin per tenant (the seed's decision matrix).
 */
export function advisorFor(
  deps: UsageDeps & { billing?: BillingDeps },
  decisions?: { operations: Pick<OperationStore, 'listByTenant'>; respectOperatorMs?: number | undefined },
): AdvisorDeps {
  const billing = deps.billing;
  return {
    directory: deps.directory,
    usage: (basis) => usageReport(deps, basis ? { period: basis.period } : {}),
    basis: paceBasis,
    ...(decisions
      ? {
          decisions: (tenants: Tenant[]) => placementDecisions(decisions.operations, tenants),
          ...(decisions.respectOperatorMs !== undefined
            ? { policy: { ...DEFAULT_POLICY, respectOperatorMs: decisions.respectOperatorMs } }
            : {}),
        }
      : {}),
    ...(billing ? { money: (basis) => tenantMoney(billing, Date.now(), basis) } : {}),
  };
}

/**
 * Recommendations for every active tenant, from one pass at `now` on one basis (`deps.basis`: the usage it
 * reads, the money it reads and the scaling of both to a month).
 */
export async function advise(deps: AdvisorDeps, now = Date.now()): Promise<Recommendation[]> {
  const tenants = await allTenants(deps);
  const decisions = (await deps.decisions?.(tenants)) ?? new Map<string, number>();
  const basis = deps.basis?.(now);
  const money = await deps.money?.(basis);
  return signalsFrom(tenants, await deps.usage(basis), now, basis, decisions, deps.regions, money).map((s) =>
    recommendPlacement(s, deps.policy ?? DEFAULT_POLICY, deps.prices ?? LIST_PRICES),
  );
}

export interface AutoPlacementOptions {
  advisor: AdvisorDeps;
  move(tenant: Tenant, to: Placement): Promise<unknown>;
  /** A tenant is moved at most once per this long (default 1 h). */
  cooldownMs?: number;
  /**
   * When this tenant last moved (ms since the epoch), if ever. Given the record, so a store can tell one
   * incarnation of an id from another; a move before the record's `createdAt` is ignored either way (it was
   * the id's former customer's).
   */
  lastMoveAt(tenant: Tenant): Promise<number | undefined>;
  /**
   * A tenant whose move could not start (it changed since the advice was read: an offboarding, a race; a
   * store error): reported here, and the pass goes on with the other tenants.
   */
  onError?(tenantId: string, error: unknown): void;
}

/**
 * Automation, one pass: tenants whose policy is `auto` are moved when the advisor says so, at most once
 * per cooldown; the policy's gap between promote and demote thresholds keeps a tenant from flapping.
 */
export async function applyAutoPlacement(options: AutoPlacementOptions): Promise<Recommendation[]> {
  const applied: Recommendation[] = [];
  const recommendations = await advise(options.advisor);
  for (const r of recommendations) {
    if (r.action === 'keep') continue;
    const tenant = await options.advisor.directory.get(r.tenantId as Tenant['id']);
    if (tenant?.config.placementPolicy?.mode !== 'auto' || tenant.move) continue;
    const last = await options.lastMoveAt(tenant);
    const ours = last !== undefined && last >= Date.parse(tenant.createdAt);
    if (ours && Date.now() - last < (options.cooldownMs ?? 3_600_000)) continue;
    // One tenant's refusal ends its own move only: thrown out of the loop, it ended every pass at that
    // tenant, and (where the cooldown is read from the moves made, which a refused start never makes) no
    // `auto` tenant after it in the list was ever moved.
    try {
      await options.move(tenant, r.recommended);
    } catch (error) {
      options.onError?.(tenant.id, error);
      continue;
    }
    applied.push(r);
  }
  return applied;
}

/**
 * Automation on a timer in a long-running process, remembering its own moves for the cooldown, per
 * incarnation of a tenant id (`incarnationOf`): an id offboarded and onboarded again is another customer.
 */
export function startAutoPlacement(options: {
  advisor: AdvisorDeps;
  move(tenantId: string, to: Placement): Promise<unknown>;
  intervalMs?: number;
  cooldownMs?: number;
  onError?(error: unknown, tenantId?: string): void;
}): { stop(): void; runOnce(): Promise<Recommendation[]> } {
  const lastMove = new Map<string, number>();
  const keyOf = (tenant: Tenant) => `${tenant.id} ${incarnationOf(tenant)}`;
  const runOnce = () =>
    applyAutoPlacement({
      advisor: options.advisor,
      ...(options.cooldownMs !== undefined ? { cooldownMs: options.cooldownMs } : {}),
      lastMoveAt: async (tenant) => lastMove.get(keyOf(tenant)),
      ...(options.onError
        ? { onError: (tenantId: string, error: unknown) => options.onError?.(error, tenantId) }
        : {}),
      move: async (tenant, to) => {
        lastMove.set(keyOf(tenant), Date.now());
        return options.move(tenant.id, to);
      },
    });
  const timer = setInterval(() => runOnce().catch(options.onError), options.intervalMs ?? 300_000);
  timer.unref();
  return { stop: () => clearInterval(timer), runOnce };
}
