import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fullBucket,
  MAX_WAIT_SEC,
  refill,
  type TokenBucket,
  take,
  windowSec,
} from '../../src/core/token-bucket.ts';

const limitsArb = fc.record({
  ratePerSec: fc.double({ min: 0.01, max: 1000, noNaN: true }),
  burst: fc.integer({ min: 1, max: 500 }),
});

/** Sorted request times in ms from 0. */
const timesArb = fc
  .array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 400 })
  .map((t) => t.sort((a, b) => a - b));

function run(limits: { ratePerSec: number; burst: number }, times: number[]) {
  let bucket: TokenBucket = fullBucket(limits, 0);
  return times.map((t) => {
    const result = take(bucket, limits, t);
    bucket = result.bucket;
    return result;
  });
}

describe('token bucket', () => {
  it('admits exactly `burst` requests at one instant and rejects the next', () => {
    fc.assert(
      fc.property(limitsArb, (limits) => {
        const results = run(
          limits,
          Array.from({ length: limits.burst + 1 }, () => 1000),
        );
        expect(results.slice(0, limits.burst).every((r) => r.allowed)).toBe(true);
        expect(results.at(-1)!.allowed).toBe(false);
        expect(results.at(-2)!.remaining).toBe(0);
      }),
    );
  });

  it('never admits more than burst + rate × elapsed in any run', () => {
    fc.assert(
      fc.property(limitsArb, timesArb, (limits, times) => {
        const admitted = run(limits, times).filter((r) => r.allowed).length;
        const span = times.length > 0 ? (times.at(-1)! - times[0]!) / 1000 : 0;
        expect(admitted).toBeLessThanOrEqual(Math.floor(limits.burst + limits.ratePerSec * span + 1e-6));
      }),
    );
  });

  it('keeps tokens between 0 and burst, and `remaining` is the whole tokens left', () => {
    fc.assert(
      fc.property(limitsArb, timesArb, (limits, times) => {
        for (const r of run(limits, times)) {
          expect(r.bucket.tokens).toBeGreaterThanOrEqual(0);
          expect(r.bucket.tokens).toBeLessThanOrEqual(limits.burst);
          expect(r.remaining).toBe(Math.floor(r.bucket.tokens + 1e-9));
        }
      }),
    );
  });

  it('admits a request retried after Retry-After, and not much earlier', () => {
    fc.assert(
      fc.property(limitsArb, timesArb, (limits, times) => {
        let bucket = fullBucket(limits, 0);
        for (const t of times) bucket = take(bucket, limits, t).bucket;
        const now = times.at(-1) ?? 0;
        const first = take(bucket, limits, now);
        if (first.allowed) return;
        expect(first.retryAfterSec).toBeGreaterThanOrEqual(1);
        expect(take(first.bucket, limits, now + first.retryAfterSec * 1000).allowed).toBe(true);
        // Retry-After is rounded up to whole seconds, so one second less is too early (unless rounding hid it).
        const early = now + (first.retryAfterSec - 1) * 1000;
        if (
          first.retryAfterSec > 1 &&
          (1 - first.bucket.tokens) / limits.ratePerSec > first.retryAfterSec - 1 + 1e-6
        ) {
          expect(take(first.bucket, limits, early).allowed).toBe(false);
        }
      }),
    );
  });

  it('never rejects a client that keeps to the rate', () => {
    fc.assert(
      fc.property(limitsArb, fc.integer({ min: 1, max: 300 }), (limits, n) => {
        const gapMs = Math.ceil(1000 / limits.ratePerSec);
        const times = Array.from({ length: n }, (_, i) => i * gapMs);
        expect(run(limits, times).every((r) => r.allowed)).toBe(true);
      }),
    );
  });

  it('does not refill when the clock steps back, and a lowered burst applies at once', () => {
    const limits = { ratePerSec: 1, burst: 10 };
    const drained = run(
      limits,
      Array.from({ length: 10 }, () => 5000),
    ).at(-1)!.bucket;
    expect(refill(drained, limits, 1000).tokens).toBe(0);
    expect(refill(fullBucket(limits, 0), { ratePerSec: 1, burst: 3 }, 0).tokens).toBe(3);
  });

  it('treats a zero or invalid limit as closed, with a bounded Retry-After', () => {
    for (const limits of [
      { ratePerSec: 0, burst: 0 },
      { ratePerSec: Number.NaN, burst: -1 },
    ]) {
      const r = take(fullBucket(limits, 0), limits, 0);
      expect(r.allowed).toBe(false);
      expect(r.retryAfterSec).toBe(MAX_WAIT_SEC);
    }
    // Rate 0 with a burst: a fixed allowance that never comes back.
    const once = { ratePerSec: 0, burst: 2 };
    const results = run(once, [0, 0, 100_000]);
    expect(results.map((r) => r.allowed)).toEqual([true, true, false]);
    expect(results[2]!.retryAfterSec).toBe(MAX_WAIT_SEC);
  });

  it('states the window as the time to refill from empty', () => {
    expect(windowSec({ ratePerSec: 2, burst: 10 })).toBe(5);
    expect(windowSec({ ratePerSec: 50, burst: 200 })).toBe(4);
    expect(windowSec({ ratePerSec: 3, burst: 1 })).toBe(1);
  });
});
