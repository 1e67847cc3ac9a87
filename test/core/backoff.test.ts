import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffMs, retryPolicy } from '../../src/core/backoff.ts';
import { retryDelaySec } from '../../src/runtime/queue-consumer.ts';

const policies = fc.record({
  baseMs: fc.integer({ min: 1, max: 10_000 }),
  maxMs: fc.integer({ min: 1, max: 3_600_000 }),
});

describe('the retry backoff', () => {
  it('doubles per attempt up to the cap; with equal jitter it stays in [cap/2, cap]', () => {
    fc.assert(
      fc.property(
        policies,
        fc.integer({ min: -3, max: 80 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (policy, attempt, random) => {
          const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt));
          expect(backoffMs(attempt, policy, random)).toBe(cap);
          const jittered = backoffMs(attempt, { ...policy, jitter: 'equal' }, random);
          expect(jittered).toBeGreaterThanOrEqual(Math.floor(cap / 2));
          expect(jittered).toBeLessThanOrEqual(Math.ceil(cap));
        },
      ),
    );
  });

  it('retries a failed delivery after 1, 2, 4 … seconds, never more than a minute', () => {
    expect([1, 2, 3, 4, 7, 8, 50].map(retryDelaySec)).toEqual([1, 2, 4, 8, 60, 60, 60]);
  });
});

describe('the control-plane drivers’ retry policy', () => {
  it('starts at the first wait, doubles it and holds at a minute', () => {
    const policy = retryPolicy(5000);
    expect([0, 1, 2, 3, 4, 5].map((attempt) => backoffMs(attempt, policy))).toEqual([
      5000, 10_000, 20_000, 40_000, 60_000, 60_000,
    ]);
  });

  it('keeps a first wait longer than a minute as the cap', () => {
    const policy = retryPolicy(90_000);
    expect([0, 1, 2].map((attempt) => backoffMs(attempt, policy))).toEqual([90_000, 90_000, 90_000]);
  });
});
