import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  billedComputeMbMs,
  DEFAULT_MEMORY_MB,
  endAttempt,
  endUnseenAttempt,
  startAttempt,
} from '../../src/core/attempt-time.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { makeJob } from '../contract/fixtures.ts';

/**
 * One attempt: it waits `gapMs` (backoff), runs `runMs` on a function with `memoryMb` (undefined: one that
 * does not know its memory), was last seen `seenMs` in, and ends one way.
 */
const attempt = fc.record({
  gapMs: fc.integer({ min: 0, max: 3_600_000 }),
  runMs: fc.integer({ min: 0, max: 600_000 }),
  seenFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  progress: fc.boolean(),
  end: fc.constantFrom('own', 'own-twice', 'crash-takeover', 'settled', 'timeout'),
  limitMs: fc.integer({ min: 1, max: 600_000 }),
  settleDelayMs: fc.integer({ min: 0, max: 3_600_000 }),
  memoryMb: fc.option(fc.constantFrom(128, 512, 1024, 1769, 10240), { nil: undefined }),
});

describe('attempt run time (property)', () => {
  it('sums what each attempt was measured or seen running, at its own memory, never the waits between or after them', () => {
    fc.assert(
      fc.property(fc.array(attempt, { minLength: 1, maxLength: 6 }), (attempts) => {
        let job: JobRecord = makeJob(parseTenantId('prop-t'), { status: 'queued', attempts: 0 });
        let now = Date.parse('2026-11-10T00:00:00.000Z');
        let expected = 0;
        let expectedMbMs = 0;
        for (const [i, a] of attempts.entries()) {
          now += a.gapMs;
          const at = new Date(now).toISOString();
          job = { ...job, status: 'running', ...startAttempt(job, at, a.memoryMb) };
          const mb = a.memoryMb ?? DEFAULT_MEMORY_MB;
          const before = expected;
          const start = now;
          const seenMs = Math.round(a.runMs * a.seenFraction);
          if (a.progress)
            job = {
              ...job,
              progress: { done: 1, total: 2, unit: 'x', at: new Date(start + seenMs).toISOString() },
            };
          now = start + a.runMs;
          const last = i === attempts.length - 1;
          if (a.end === 'own' || a.end === 'own-twice') {
            job = { ...job, ...endAttempt(job, now) };
            if (a.end === 'own-twice') job = { ...job, ...endUnseenAttempt(job, now + a.settleDelayMs) };
            expected += a.runMs;
          } else if (a.end === 'timeout') {
            // The limit is when the host stopped it; the settle comes later.
            job = { ...job, ...endUnseenAttempt(job, start + a.limitMs + a.settleDelayMs, a.limitMs) };
            expected += a.limitMs;
            now = start + a.limitMs;
          } else if (a.end === 'settled' || last) {
            job = { ...job, ...endUnseenAttempt(job, now + a.settleDelayMs) };
            expected += a.progress ? seenMs : 0;
          } else {
            // Crashed: the next delivery's start ends it (startAttempt above, next round).
            expected += a.progress ? seenMs : 0;
          }
          expectedMbMs += (expected - before) * mb;
          expect(job.computedAttempts).toBe(a.end === 'crash-takeover' && !last ? i : i + 1);
          // Settled jobs are redriven (queued); one its function ended stays running until the next delivery.
          if (a.end === 'settled' || a.end === 'timeout') job = { ...job, status: 'queued' };
        }
        expect(job.computeMs).toBe(expected);
        // Each attempt at its own function's memory, whoever ended it (a crashed one at ITS memory, by the
        // next delivery that may run with another).
        expect(job.computeMbMs).toBe(expectedMbMs);
        expect(billedComputeMbMs(job)).toBe(expectedMbMs);
      }),
      { numRuns: 300 },
    );
  });
});
