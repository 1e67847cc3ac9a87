import { CONTROL_RESERVED_CONCURRENCY } from './constructs/control-function.ts';
import { NOTIFICATION_CONCURRENCY } from './constructs/user-notifications.ts';

/** What the platform stack reserves itself: the control function and the notification function. */
export const PLATFORM_RESERVED_CONCURRENCY = CONTROL_RESERVED_CONCURRENCY + NOTIFICATION_CONCURRENCY;

/** Default per-account, per-Region quotas the dedicated placement runs into (us-east-1, 2026). */
export const AWS_LIMITS = {
  resourcesPerStack: 500,
  stacksPerRegion: 2000,
  concurrentExecutions: 1000,
  /** Lambda keeps this many executions unreserved; reserved concurrency can use only the rest. */
  unreservedMinimum: 100,
};

export interface CapacityPlan {
  /** Dedicated tenants the reservable concurrency holds. */
  byConcurrency: number;
  /** Dedicated tenants the stack quota holds (the platform stack takes one). */
  byStacks: number;
  fit: number;
  binding: 'concurrency' | 'stacks';
}

/**
 * How many dedicated tenants one account and Region holds, each with `models` functions of `reservedPerFunction`.
 * The platform's own reservations (`platformReserved`, default: the control and notification functions') come off first.
 */
export function dedicatedCapacity(options: {
  models: number;
  reservedPerFunction: number;
  platformStacks?: number;
  platformReserved?: number;
  limits?: typeof AWS_LIMITS;
}): CapacityPlan {
  const limits = options.limits ?? AWS_LIMITS;
  const perTenant = options.models * options.reservedPerFunction;
  const reservable =
    limits.concurrentExecutions -
    limits.unreservedMinimum -
    (options.platformReserved ?? PLATFORM_RESERVED_CONCURRENCY);
  const byConcurrency = Math.floor(reservable / perTenant);
  const byStacks = limits.stacksPerRegion - (options.platformStacks ?? 1);
  return {
    byConcurrency,
    byStacks,
    fit: Math.min(byConcurrency, byStacks),
    binding: byConcurrency <= byStacks ? 'concurrency' : 'stacks',
  };
}
