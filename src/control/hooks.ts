import { laneFor } from '../core/placement.ts';
import { checkRegion, type RegionPolicy } from '../core/region.ts';
import type { Tenant } from '../core/tenant.ts';
import type { ControlHooks } from '../ports/control-hooks.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { RateBuckets } from '../ports/rate-buckets.ts';
import { createAdmission } from './admission.ts';
import type { TenantMetrics } from './metrics.ts';
import type { ControlDeps } from './tenants.ts';

/** The control plane's per-request hooks the API calls (admission: quotas and rate limits). */
export function createControlHooks(
  deps: ControlDeps & {
    metrics?: TenantMetrics;
    /**
     * How a tenant's queued jobs are counted: `queue` (its lanes' depth; exact where the queue counts a
     * shared lane by tenant, as the embedded one does) or `records` (its queued job records; SQS cannot
     * count a shared queue by tenant).
     */
    queuedCount?: 'queue' | 'records';
    /** Token buckets every API process shares (AWS: Lambda instances); default: per process. */
    rateBuckets?: RateBuckets;
    /** Where tenants may be placed: a contract-region tenant's job is never sent to a shared lane. */
    regions?: RegionPolicy;
  },
): ControlHooks {
  const admission = createAdmission({
    queue: deps.queue,
    onThrottled: (tenantId, reason) => deps.metrics?.recordThrottle(tenantId, reason),
    ...(deps.rateBuckets ? { buckets: deps.rateBuckets } : {}),
    ...(deps.queuedCount === 'records'
      ? {
          countQueued: (tenant: Tenant, upTo: number) =>
            tenantDataFor(deps.stores, tenant).jobs.countQueued(upTo),
          // A record reaches the index a moment after its submit finished.
          settleGraceMs: 1000,
        }
      : {}),
  });
  return {
    admitSubmit(tenant) {
      // Residency holds for every job, also while a contract-region tenant's onboarding deploys its stack
      // (it is shared until its promotion switches sends): 409 region_requires_dedicated until then.
      if (deps.regions) checkRegion(tenant.region, laneFor(tenant, '').placement, deps.regions);
      return admission.admitSubmit(tenant);
    },
    submitSettled: (tenant) => admission.settled(tenant),
  };
}
