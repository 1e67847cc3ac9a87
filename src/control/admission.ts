import { CostLimitExceededError, RateLimitedError } from '../core/errors.ts';
import { incarnationOf, jobLimitsFor, limitsFor, type Tenant } from '../core/tenant.ts';
import { fullBucket, type TakeResult, type TokenBucket, take, windowSec } from '../core/token-bucket.ts';
import { getPath, inputPointer } from '../models/schema-paths.ts';
import type { ModelDefinition } from '../models/types.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { RateBuckets } from '../ports/rate-buckets.ts';
import { queuedJobsOf } from './queued-jobs.ts';

export type ThrottleReason = 'submit_rate' | 'queued_jobs';

export interface AdmissionOptions {
  queue: MessageQueue;
  now?: () => number;
  /** How long a read of a tenant's queued jobs is trusted while it stays under the limit. */
  queuedReadTtlMs?: number;
  /**
   * How long after a submit settled its job may still be missing from a read (an eventually consistent
   * index); 0 where reads see a sent message at once (the embedded queue).
   */
  settleGraceMs?: number;
  onThrottled?(tenantId: string, reason: ThrottleReason): void;
  /**
   * A tenant's queued jobs, counting at most `upTo`. Default: its lanes' depth (the embedded queue counts
   * a shared lane by tenant). Where a shared queue cannot (SQS), the job records count instead.
   */
  countQueued?(tenant: Tenant, upTo: number): Promise<number>;
  /** Buckets every API process shares (AWS); default: this process's own. */
  buckets?: RateBuckets;
}

/** Seconds a client is told to wait when its queue is full: about one job's run, or long when processing is paused. */
const QUEUE_FULL_RETRY_SEC = 2;
const PAUSED_RETRY_SEC = 60;
/** The policy name in the RateLimit header fields. */
const POLICY = 'submit';

/**
 * Per-tenant admission of submits: a token bucket on the submit rate, then a cap on queued jobs.
 *
 * Every submit that reaches admission spends a token, rejected or not, so a client hammering a full
 * queue is slowed by the rate limit too. The queued count is read from the queue, then kept in process
 * (+1 per admitted submit) for `queuedReadTtlMs`; in that time it only over-estimates (jobs that started
 * are not subtracted), and a submit that would cross the limit always re-reads, so rejections are exact
 * at the boundary. A read cannot see jobs admitted a moment ago whose message is still being sent, so
 * admitted submits not yet settled (`settled`, called when the submit finishes) are added to every read:
 * concurrent submits cannot both take the last place, and a finished one is not counted twice. The
 * queued count is per API process; so are the token buckets unless `buckets` are shared (on AWS an item
 * per tenant in the control-plane table), which holds the rate across processes.
 */
export function createAdmission(options: AdmissionOptions) {
  const now = options.now ?? Date.now;
  const ttlMs = options.queuedReadTtlMs ?? 1000;
  const buckets = new Map<string, TokenBucket>();
  const settleGraceMs = options.settleGraceMs ?? 0;
  const queued = new Map<string, { count: number; readAtMs: number }>();
  // Admitted submits whose job is not yet where a read sees it: still being recorded and sent, or settled
  // less than `settleGraceMs` ago. Every read adds them, so concurrent submits cannot both take the last place.
  const pending = new Map<string, number>();
  const addPending = (tenantId: string, n: number) => {
    const left = (pending.get(tenantId) ?? 0) + n;
    if (left <= 0) pending.delete(tenantId);
    else pending.set(tenantId, left);
  };

  const headersOf = (tenant: Tenant, result: TakeResult): Record<string, string> => {
    const limits = limitsFor(tenant);
    const bucket = { ratePerSec: limits.submitRatePerSec, burst: limits.submitBurst };
    return {
      'ratelimit-policy': `"${POLICY}";q=${Math.max(0, Math.floor(bucket.burst) || 0)};w=${windowSec(bucket)}`,
      ratelimit: `"${POLICY}";r=${result.remaining};t=${result.resetSec}`,
    };
  };

  const throttle = (
    tenant: Tenant,
    reason: ThrottleReason,
    message: string,
    retryAfterSec: number,
    headers: Record<string, string>,
  ) => {
    options.onThrottled?.(tenant.id, reason);
    return new RateLimitedError(message, retryAfterSec, { limit: reason }, headers);
  };

  return {
    /** Admits one submit or throws RateLimitedError; returns the RateLimit headers for the response. */
    async admitSubmit(tenant: Tenant): Promise<Record<string, string>> {
      const limits = limitsFor(tenant);
      const bucketLimits = { ratePerSec: limits.submitRatePerSec, burst: limits.submitBurst };
      // Per incarnation: an id offboarded and onboarded again is another customer, with a full bucket.
      const incarnation = incarnationOf(tenant);
      const bucketKey = `${tenant.id} ${incarnation}`;
      const taken = options.buckets
        ? await options.buckets.take(tenant.id, bucketLimits, now(), incarnation)
        : take(buckets.get(bucketKey) ?? fullBucket(bucketLimits, now()), bucketLimits, now());
      if (!options.buckets) buckets.set(bucketKey, taken.bucket);
      const headers = headersOf(tenant, taken);
      if (!taken.allowed) {
        throw throttle(
          tenant,
          'submit_rate',
          `This tenant may submit ${limits.submitRatePerSec} jobs per second (bursts of ${limits.submitBurst}); retry in ${taken.retryAfterSec} s.`,
          taken.retryAfterSec,
          headers,
        );
      }

      let entry = queued.get(tenant.id);
      if (!entry || now() - entry.readAtMs >= ttlMs || entry.count + 1 > limits.maxQueuedJobs) {
        const readAtMs = now();
        const count = options.countQueued
          ? await options.countQueued(tenant, limits.maxQueuedJobs + 1)
          : await queuedJobsOf(options.queue, tenant);
        entry = { count: count + (pending.get(tenant.id) ?? 0), readAtMs };
        queued.set(tenant.id, entry);
      }
      // No await from here on: the check and the increment happen together.
      if (entry.count + 1 > limits.maxQueuedJobs) {
        const paused = limits.maxRunningJobs <= 0;
        throw throttle(
          tenant,
          'queued_jobs',
          `This tenant has ${entry.count} jobs queued, its limit is ${limits.maxQueuedJobs}; retry when some have started.`,
          paused ? PAUSED_RETRY_SEC : QUEUE_FULL_RETRY_SEC,
          headers,
        );
      }
      entry.count += 1;
      addPending(tenant.id, 1);
      return headers;
    },
    /** The admitted submit finished (its job recorded and sent, or it failed): reads see it from now on. */
    settled(tenant: Pick<Tenant, 'id'>): void {
      if (settleGraceMs <= 0) addPending(tenant.id, -1);
      else setTimeout(() => addPending(tenant.id, -1), settleGraceMs).unref();
    },
  };
}

/**
 * The cost units of a job of `model` on `effectiveInput` (its input after the tenant's rules and defaults),
 * at least 1; throws `CostLimitExceededError` (422, naming the input fields the cost comes from and their
 * values) when it is above the tenant's `maxJobCost` for that model. Pure.
 */
export function admitJobCost(
  tenant: Pick<Tenant, 'plan' | 'config'>,
  model: Pick<ModelDefinition, 'name' | 'cost' | 'costFields'>,
  effectiveInput: unknown,
): number {
  const estimate = model.cost(effectiveInput as never);
  // A model's estimate that is not a number cannot be compared: it counts as the largest there is.
  const cost = Number.isNaN(estimate) ? Number.POSITIVE_INFINITY : Math.max(1, estimate);
  const { maxJobCost } = jobLimitsFor(tenant, model.name);
  if (cost <= maxJobCost) return cost;
  throw new CostLimitExceededError({
    model: model.name,
    cost,
    maxJobCost,
    problems: model.costFields.map((field) => ({
      path: inputPointer(field),
      message: `is ${JSON.stringify(getPath(effectiveInput, field) ?? null)}; the job's cost grows with it`,
      rule: 'cost',
    })),
  });
}
