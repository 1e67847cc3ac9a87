/**
 * The circuit breaker of one webhook endpoint, as pure functions: the caller keeps the state and passes
 * the clock and the random source, so the policy is property-tested and the same state is shown to the
 * tenant. Written here rather than taken from a breaker library (opossum) because a webhook message is
 * not a call to wrap: while the circuit is open the message goes back on its queue for a computed delay,
 * and the state must be a plain value the API can report.
 */
import { backoffMs as backoff } from './backoff.ts';

export interface CircuitPolicy {
  /** Consecutive failed deliveries that open the circuit. */
  failureThreshold: number;
  /** The first open period, ms; each further opening in a row doubles it. */
  baseBackoffMs: number;
  /** The longest open period, ms. */
  maxBackoffMs: number;
}

export const DEFAULT_CIRCUIT_POLICY: CircuitPolicy = {
  failureThreshold: 5,
  baseBackoffMs: 5_000,
  maxBackoffMs: 15 * 60_000,
};

export interface EndpointCircuit {
  consecutiveFailures: number;
  /** When the current run of failures began, epoch ms. */
  failingSince?: number;
  lastError?: string;
  /** While set and in the future the circuit is open: nothing is attempted. Epoch ms. */
  openUntil?: number;
  /** Openings in a row without a success between them: the exponent of the next open period. */
  openings: number;
  /** A probe (the one attempt let through once the open period is over) is in flight. */
  probing: boolean;
}

export const CLOSED_CIRCUIT: EndpointCircuit = { consecutiveFailures: 0, openings: 0, probing: false };

export type Admission =
  | { attempt: true; circuit: EndpointCircuit }
  | { attempt: false; circuit: EndpointCircuit; retryInMs: number };

/** How long a message waits when its endpoint is probing: long enough for the probe to settle. */
const PROBE_WAIT_MS = 2_000;

/**
 * The open period after `openings` openings in a row, ms: exponential, capped, with "equal jitter"
 * (uniform in the upper half), so endpoints that failed together do not all retry together.
 * @param random a number in [0, 1)
 */
export function backoffMs(openings: number, policy: CircuitPolicy, random: number): number {
  return backoff(
    openings,
    { baseMs: policy.baseBackoffMs, maxMs: policy.maxBackoffMs, jitter: 'equal' },
    random,
  );
}

/**
 * Whether a delivery may be attempted now. Closed: yes. Open: no, retry when the period ends (plus up
 * to a tenth of it at random, so deferred messages come back spread out). Once the period is over one
 * attempt (the probe) goes through; others wait until it has settled.
 * @param random a number in [0, 1)
 */
export function admit(circuit: EndpointCircuit, nowMs: number, random: number): Admission {
  if (circuit.openUntil === undefined) return { attempt: true, circuit };
  if (nowMs < circuit.openUntil) {
    const left = circuit.openUntil - nowMs;
    return { attempt: false, circuit, retryInMs: left + Math.round(left * 0.1 * clampUnit(random)) };
  }
  if (circuit.probing) {
    return {
      attempt: false,
      circuit,
      retryInMs: PROBE_WAIT_MS + Math.round(PROBE_WAIT_MS * clampUnit(random)),
    };
  }
  return { attempt: true, circuit: { ...circuit, probing: true } };
}

/** A delivered message: the circuit closes and forgets its failures. */
export function recordSuccess(_circuit: EndpointCircuit): EndpointCircuit {
  return CLOSED_CIRCUIT;
}

/**
 * A failed delivery (an error answer, a timeout, a refused target). The threshold-th failure in a row,
 * or a failed probe, opens the circuit for `backoffMs`.
 * @param random a number in [0, 1)
 */
export function recordFailure(
  circuit: EndpointCircuit,
  error: string,
  nowMs: number,
  policy: CircuitPolicy,
  random: number,
): EndpointCircuit {
  const failures = circuit.consecutiveFailures + 1;
  const failing = {
    ...circuit,
    consecutiveFailures: failures,
    failingSince: circuit.failingSince ?? nowMs,
    lastError: error,
    probing: false,
  };
  // Deliveries that started before the circuit opened may fail while it is open: they extend nothing.
  if (circuit.openUntil !== undefined && nowMs < circuit.openUntil) return failing;
  if (failures < policy.failureThreshold && !circuit.probing) return failing;
  return {
    ...failing,
    openUntil: nowMs + backoffMs(circuit.openings, policy, random),
    openings: circuit.openings + 1,
  };
}

/** A delivery that ended without an answer either way (the dispatcher stopped): a probe is free again. */
export function releaseProbe(circuit: EndpointCircuit): EndpointCircuit {
  return circuit.probing ? { ...circuit, probing: false } : circuit;
}

export type EndpointState = 'healthy' | 'failing' | 'circuit_open';

/** What the tenant is shown: ISO times, no internals. */
export interface EndpointHealth {
  state: EndpointState;
  consecutiveFailures: number;
  failingSince?: string;
  lastError?: string;
  /** While the circuit is open: when deliveries are tried again. */
  retryAt?: string;
}

export function endpointHealth(circuit: EndpointCircuit, nowMs: number): EndpointHealth {
  if (circuit.consecutiveFailures === 0) return { state: 'healthy', consecutiveFailures: 0 };
  const open = circuit.openUntil !== undefined && nowMs < circuit.openUntil;
  return {
    state: open ? 'circuit_open' : 'failing',
    consecutiveFailures: circuit.consecutiveFailures,
    ...(circuit.failingSince !== undefined
      ? { failingSince: new Date(circuit.failingSince).toISOString() }
      : {}),
    ...(circuit.lastError !== undefined ? { lastError: circuit.lastError } : {}),
    ...(open ? { retryAt: new Date(circuit.openUntil as number).toISOString() } : {}),
  };
}

function clampUnit(n: number): number {
  return Number.isFinite(n) ? Math.min(Math.max(n, 0), 1) : 0;
}
