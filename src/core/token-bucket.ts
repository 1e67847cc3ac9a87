/**
 * A token bucket: up to `burst` submits at once, refilled at `ratePerSec`. Pure: the caller keeps the
 * state and passes the clock, so admission stays testable and the same numbers feed the RateLimit headers.
 */

export interface TokenBucketLimits {
  ratePerSec: number;
  burst: number;
}

export interface TokenBucket {
  tokens: number;
  /** When `tokens` was computed, epoch ms. */
  atMs: number;
}

export interface TakeResult {
  allowed: boolean;
  bucket: TokenBucket;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until the next request can pass; 0 when it passed. */
  retryAfterSec: number;
  /** Seconds until the bucket is full again, or (when empty) until the next request can pass. */
  resetSec: number;
}

/** Longest wait ever announced: a bucket that never refills (rate 0) would otherwise say "infinity". */
export const MAX_WAIT_SEC = 3600;

/** Float sums of fractional refills must not turn 0.9999999 tokens into a rejection. */
const EPSILON = 1e-9;

/** Limits come from tenant config; a bad one (negative, NaN) means "none", never a crash or an open gate. */
export function normaliseLimits(limits: TokenBucketLimits): TokenBucketLimits {
  const ok = (n: number) => Number.isFinite(n) && n > 0;
  return {
    ratePerSec: ok(limits.ratePerSec) ? limits.ratePerSec : 0,
    burst: ok(limits.burst) ? Math.floor(limits.burst) : 0,
  };
}

/** A new tenant starts with a full bucket. */
export function fullBucket(limits: TokenBucketLimits, nowMs: number): TokenBucket {
  return { tokens: normaliseLimits(limits).burst, atMs: nowMs };
}

/** The bucket at `nowMs`. A clock that steps back refills nothing and takes nothing away. */
export function refill(bucket: TokenBucket, limits: TokenBucketLimits, nowMs: number): TokenBucket {
  const { ratePerSec, burst } = normaliseLimits(limits);
  const elapsedSec = Math.max(0, nowMs - bucket.atMs) / 1000;
  // A lowered burst takes effect at once.
  const tokens = Math.min(burst, Math.max(0, bucket.tokens) + elapsedSec * ratePerSec);
  return { tokens, atMs: Math.max(nowMs, bucket.atMs) };
}

/** Takes one token if there is one. */
export function take(bucket: TokenBucket, limits: TokenBucketLimits, nowMs: number): TakeResult {
  const norm = normaliseLimits(limits);
  const current = refill(bucket, norm, nowMs);
  if (current.tokens + EPSILON >= 1) {
    const next = { tokens: Math.max(0, current.tokens - 1), atMs: current.atMs };
    return {
      allowed: true,
      bucket: next,
      remaining: Math.floor(next.tokens + EPSILON),
      retryAfterSec: 0,
      resetSec: waitFor(norm.burst - next.tokens, norm.ratePerSec),
    };
  }
  const retryAfterSec = norm.burst < 1 ? MAX_WAIT_SEC : waitFor(1 - current.tokens, norm.ratePerSec);
  return { allowed: false, bucket: current, remaining: 0, retryAfterSec, resetSec: retryAfterSec };
}

/** Whole seconds until `missing` tokens have refilled (at least 1 when anything is missing). */
function waitFor(missing: number, ratePerSec: number): number {
  if (missing <= EPSILON) return 0;
  if (ratePerSec <= 0) return MAX_WAIT_SEC;
  return Math.min(MAX_WAIT_SEC, Math.max(1, Math.ceil(missing / ratePerSec - EPSILON)));
}

/** Seconds to refill an empty bucket: the policy's window in the RateLimit-Policy header. */
export function windowSec(limits: TokenBucketLimits): number {
  const { ratePerSec, burst } = normaliseLimits(limits);
  return waitFor(Math.max(1, burst), ratePerSec);
}
