import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admit,
  backoffMs,
  type CircuitPolicy,
  CLOSED_CIRCUIT,
  type EndpointCircuit,
  endpointHealth,
  recordFailure,
  recordSuccess,
} from '../../src/core/webhook-circuit.ts';

const policyArb: fc.Arbitrary<CircuitPolicy> = fc
  .record({
    failureThreshold: fc.integer({ min: 1, max: 10 }),
    baseBackoffMs: fc.integer({ min: 1, max: 60_000 }),
    extra: fc.integer({ min: 0, max: 3_600_000 }),
  })
  .map(({ failureThreshold, baseBackoffMs, extra }) => ({
    failureThreshold,
    baseBackoffMs,
    maxBackoffMs: baseBackoffMs + extra,
  }));
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** One step of a delivery history: an attempt that succeeded or failed, `gap` ms after the last step. */
const stepArb = fc.record({ ok: fc.boolean(), gap: fc.integer({ min: 0, max: 120_000 }), random: unit });

/** Plays a history the way a dispatcher does: asks first, attempts only when admitted. */
function play(policy: CircuitPolicy, steps: { ok: boolean; gap: number; random: number }[]) {
  let circuit: EndpointCircuit = CLOSED_CIRCUIT;
  let now = 1_000_000;
  const log: { now: number; before: EndpointCircuit; attempted: boolean; retryInMs?: number }[] = [];
  for (const step of steps) {
    now += step.gap;
    const before = circuit;
    const admission = admit(circuit, now, step.random);
    if (!admission.attempt) {
      log.push({ now, before, attempted: false, retryInMs: admission.retryInMs });
      continue;
    }
    circuit = step.ok
      ? recordSuccess(admission.circuit)
      : recordFailure(admission.circuit, 'answered 500', now, policy, step.random);
    log.push({ now, before, attempted: true });
  }
  return { circuit, log, now };
}

describe('the webhook circuit policy', () => {
  it('backs off within [cap/2, cap], the cap doubling per opening up to the maximum', () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 0, max: 60 }), unit, (policy, openings, random) => {
        const cap = Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** openings);
        const ms = backoffMs(openings, policy, random);
        expect(ms).toBeGreaterThanOrEqual(Math.floor(cap / 2));
        expect(ms).toBeLessThanOrEqual(Math.ceil(cap));
        expect(ms).toBeLessThanOrEqual(policy.maxBackoffMs);
      }),
    );
  });

  it('spreads endpoints that fail together: different random draws give different delays', () => {
    const policy = { failureThreshold: 1, baseBackoffMs: 10_000, maxBackoffMs: 60_000 };
    const delays = new Set(Array.from({ length: 50 }, (_, i) => backoffMs(2, policy, i / 50)));
    expect(delays.size).toBeGreaterThan(40);
  });

  it('stays closed below the threshold and opens on the threshold-th failure in a row', () => {
    fc.assert(
      fc.property(policyArb, unit, (policy, random) => {
        let circuit = CLOSED_CIRCUIT;
        for (let i = 1; i <= policy.failureThreshold; i++) {
          expect(admit(circuit, 0, random).attempt).toBe(true);
          circuit = recordFailure(circuit, `failure ${i}`, 0, policy, random);
        }
        expect(circuit.openUntil).toBeGreaterThan(0);
        expect(admit(circuit, 0, random).attempt).toBe(false);
        expect(endpointHealth(circuit, 0)).toMatchObject({
          state: 'circuit_open',
          consecutiveFailures: policy.failureThreshold,
          lastError: `failure ${policy.failureThreshold}`,
        });
      }),
    );
  });

  it('never attempts while open, and says to come back no sooner than the period ends', () => {
    fc.assert(
      fc.property(policyArb, fc.array(stepArb, { maxLength: 60 }), (policy, steps) => {
        for (const entry of play(policy, steps).log) {
          const open = entry.before.openUntil !== undefined && entry.now < entry.before.openUntil;
          if (open) {
            expect(entry.attempted).toBe(false);
            expect(entry.retryInMs).toBeGreaterThanOrEqual((entry.before.openUntil as number) - entry.now);
          }
        }
      }),
    );
  });

  it('lets one probe through once the period is over; others wait until it settles', () => {
    fc.assert(
      fc.property(policyArb, unit, (policy, random) => {
        let circuit = CLOSED_CIRCUIT;
        for (let i = 0; i < policy.failureThreshold; i++)
          circuit = recordFailure(circuit, 'timeout', 0, policy, random);
        const after = (circuit.openUntil as number) + 1;
        const probe = admit(circuit, after, random);
        expect(probe.attempt).toBe(true);
        expect(admit(probe.circuit, after, random).attempt).toBe(false);
        // A failed probe opens it again, for longer (the cap doubles); a good one closes it.
        const reopened = recordFailure(probe.circuit, 'timeout', after, policy, random);
        expect(reopened.openings).toBe(circuit.openings + 1);
        expect(reopened.openUntil).toBeGreaterThan(after);
        expect(endpointHealth(recordSuccess(probe.circuit), after)).toEqual({
          state: 'healthy',
          consecutiveFailures: 0,
        });
      }),
    );
  });

  it('a success forgets every failure, whatever came before', () => {
    fc.assert(
      fc.property(policyArb, fc.array(stepArb, { maxLength: 60 }), (policy, steps) => {
        const { circuit } = play(policy, [...steps, { ok: true, gap: 4_000_000, random: 0.5 }]);
        expect(circuit).toEqual(CLOSED_CIRCUIT);
      }),
    );
  });

  it('reports failing with the first failure time and the last error until it opens', () => {
    const policy = { failureThreshold: 3, baseBackoffMs: 1000, maxBackoffMs: 8000 };
    const once = recordFailure(CLOSED_CIRCUIT, 'answered 500', 1_000, policy, 0.5);
    const twice = recordFailure(once, 'timed out', 2_000, policy, 0.5);
    expect(endpointHealth(twice, 2_000)).toEqual({
      state: 'failing',
      consecutiveFailures: 2,
      failingSince: new Date(1_000).toISOString(),
      lastError: 'timed out',
    });
  });
});
