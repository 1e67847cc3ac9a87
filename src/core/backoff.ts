/** How a retry waits: `baseMs × 2^attempt`, capped at `maxMs`, optionally with jitter. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /**
   * `equal`: uniform in [cap/2, cap] ("equal jitter", M. Brooker, "Exponential Backoff And Jitter", AWS
   * Architecture Blog, 2015), so callers that failed together do not all retry together while each still
   * waits at least half the cap. `none` (the default): exactly the cap.
   */
  jitter?: 'none' | 'equal';
}

/**
 * The one retry delay of the platform, in milliseconds: the queue consumer's failed deliveries, placement
 * and offboarding steps, and webhook circuits all wait by it.
 * @param attempt 0 for the first retry; negative counts as 0
 * @param random a number in [0, 1), used only with jitter (pass one for deterministic results)
 */
export function backoffMs(attempt: number, policy: BackoffPolicy, random = Math.random()): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt));
  if (policy.jitter !== 'equal') return cap;
  const unit = Number.isFinite(random) ? Math.min(1, Math.max(0, random)) : 0;
  return Math.round(cap / 2 + (cap / 2) * unit);
}

/**
 * How a control-plane driver (a placement move, an upgrade) waits before driving a failed operation again:
 * `firstMs` doubled per failure, capped at a minute (or at `firstMs` itself when that is longer).
 */
export function retryPolicy(firstMs: number): BackoffPolicy {
  return { baseMs: firstMs, maxMs: Math.max(firstMs, 60_000) };
}
