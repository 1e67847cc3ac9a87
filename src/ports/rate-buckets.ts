import type { TenantId } from '../core/ids.ts';
import type { TakeResult, TokenBucketLimits } from '../core/token-bucket.ts';

/**
 * Per-tenant token buckets kept where every API process sees them, so a tenant's submit rate holds across
 * processes (Lambda instances) rather than per process. The arithmetic is `core/token-bucket.ts`; an
 * adapter only stores the bucket with compare-and-set.
 */
export interface RateBuckets {
  /**
   * Takes one token from the tenant's bucket, or refuses with how long to wait. `incarnation`
   * (`incarnationOf`): a bucket another incarnation of the id left (the id offboarded and onboarded again)
   * is not this tenant's, which starts with a full one.
   */
  take(
    tenantId: TenantId,
    limits: TokenBucketLimits,
    nowMs: number,
    incarnation?: string,
  ): Promise<TakeResult>;
}
