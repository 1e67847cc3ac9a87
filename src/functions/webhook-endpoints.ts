import { incarnationOf, type Tenant } from '../core/tenant.ts';
import {
  admit,
  backoffMs,
  type CircuitPolicy,
  CLOSED_CIRCUIT,
  DEFAULT_CIRCUIT_POLICY,
  type EndpointCircuit,
  type EndpointHealth,
  endpointHealth,
  recordFailure,
  recordSuccess,
  releaseProbe,
} from '../core/webhook-circuit.ts';
import { DeliveryDeadlineError, withinDeadline } from './delivery-deadline.ts';

export interface EndpointLimits {
  /** Deliveries to one endpoint in flight at once. */
  maxInFlight: number;
  /** Messages of one endpoint held waiting for a free slot; more go back to the queue for `busyDelayMs`. */
  maxWaiting: number;
  /** How long a message that found its endpoint busy (and its waiting list full) stays on the queue, ms. */
  busyDelayMs: number;
  /**
   * The longest one attempt holds its slot, ms: past it the slot is freed, the attempt's signal aborted (its
   * request to the receiver is cancelled, not left running beside the retry) and the delivery fails (not
   * counted against the circuit: a store or queue call that never answers is the platform's fault, the
   * receiver's own answer being bounded by the 10 s network timeouts), so hung attempts never block
   * an endpoint for good.
   */
  attemptTimeoutMs: number;
}

/** A failed message's retry delay: 2^receives seconds (with jitter), at most an hour. */
const RETRY_POLICY = { failureThreshold: 1, baseBackoffMs: 1_000, maxBackoffMs: 3_600_000 };

/**
 * Seconds a message that was not delivered stays on its queue before it is tried again: a deferred one
 * as long as its endpoint said, a failed one 2^receives seconds with jitter (at most an hour).
 */
export function retryDelaySec(
  outcome: Exclude<DeliveryOutcome, { kind: 'delivered' }>,
  receiveCount: number,
  random: number = Math.random(),
): number {
  const ms = outcome.kind === 'deferred' ? outcome.delayMs : backoffMs(receiveCount, RETRY_POLICY, random);
  return Math.max(1, Math.ceil(ms / 1000));
}

/**
 * `attemptTimeoutMs`: twice the 10 s network timeout (webhook POST, SMTP, Web Push), leaving the store reads
 * around it room; under the dispatchers' 30 s visibility, which an attempt that waited for its slot renews
 * as it starts, so the message is still held when it is put back.
 */
export const DEFAULT_ENDPOINT_LIMITS: EndpointLimits = {
  maxInFlight: 4,
  maxWaiting: 16,
  busyDelayMs: 5_000,
  attemptTimeoutMs: 20_000,
};

export type DeliveryOutcome =
  | { kind: 'delivered' }
  | { kind: 'failed'; error: unknown }
  /** Not attempted: the circuit is open or the endpoint busy; try again in `delayMs`. */
  | { kind: 'deferred'; delayMs: number };

export interface WebhookEndpoints {
  /**
   * Runs one delivery to the tenant's endpoint under its limits and circuit. `beforeAttempt` is called
   * with the time the message waited for a slot, just before the attempt (to extend its visibility), and a
   * signal aborted at the attempt's deadline.
   * `deliver` gets a signal aborted at the attempt's deadline (`attemptTimeoutMs`): its outgoing call must
   * take it. Never rejects: a failed delivery is an outcome, and it counts against the circuit.
   */
  run(
    tenantId: string,
    deliver: (signal: AbortSignal) => Promise<void>,
    beforeAttempt?: (waitedMs: number, signal: AbortSignal) => Promise<void>,
  ): Promise<DeliveryOutcome>;
  /** The endpoint's state as its tenant sees it; `healthy` for one never seen. */
  health(tenantId: string): EndpointHealth;
  /** Forgets the endpoint's failures: its tenant set a new URL. */
  reset(tenantId: string): void;
}

/**
 * The key of a tenant's webhook endpoint in `WebhookEndpoints`: its id and incarnation (`incarnationOf`). An id
 * offboarded and onboarded again is another customer with another endpoint; on Lambda a warm instance keeps
 * its circuits, and no reset made in the API's process reaches it.
 */
export function webhookEndpointKey(tenant: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>): string {
  // Tenant ids hold no space: the two parts read back as one key.
  return `${tenant.id} ${incarnationOf(tenant)}`;
}

interface Endpoint {
  circuit: EndpointCircuit;
  active: number;
  waiting: (() => void)[];
}

/**
 * Per-endpoint concurrency and circuit breaking, kept in this process: deliveries to different endpoints
 * never wait for each other, one endpoint has at most `maxInFlight` in flight, and an endpoint whose
 * circuit is open has its messages deferred without an attempt. The endpoint is the tenant's one webhook.
 */
export function createWebhookEndpoints(
  options: {
    limits?: Partial<EndpointLimits>;
    policy?: Partial<CircuitPolicy>;
    now?: () => number;
    random?: () => number;
  } = {},
): WebhookEndpoints {
  const limits = { ...DEFAULT_ENDPOINT_LIMITS, ...options.limits };
  const policy = { ...DEFAULT_CIRCUIT_POLICY, ...options.policy };
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const endpoints = new Map<string, Endpoint>();

  const endpointOf = (tenantId: string): Endpoint => {
    let endpoint = endpoints.get(tenantId);
    if (!endpoint) {
      endpoint = { circuit: CLOSED_CIRCUIT, active: 0, waiting: [] };
      endpoints.set(tenantId, endpoint);
    }
    return endpoint;
  };

  const release = (tenantId: string, endpoint: Endpoint) => {
    const next = endpoint.waiting.shift();
    if (next) next();
    else {
      endpoint.active -= 1;
      // An idle, healthy endpoint is not kept: the map holds only endpoints with something to say.
      if (endpoint.active === 0 && endpoint.circuit.consecutiveFailures === 0) endpoints.delete(tenantId);
    }
  };

  return {
    async run(tenantId, deliver, beforeAttempt) {
      const endpoint = endpointOf(tenantId);
      // Checked before taking a slot too: an open circuit's messages never wait behind its hanging ones.
      const early = admit(endpoint.circuit, now(), random());
      if (!early.attempt) return { kind: 'deferred', delayMs: early.retryInMs };
      const arrived = now();
      if (endpoint.active >= limits.maxInFlight) {
        if (endpoint.waiting.length >= limits.maxWaiting) {
          return { kind: 'deferred', delayMs: Math.round(limits.busyDelayMs * (1 + random())) };
        }
        // The slot is handed over by `release`: `active` stays counted for the waiter.
        await new Promise<void>((resolve) => endpoint.waiting.push(resolve));
      } else endpoint.active += 1;
      let settled = false;
      try {
        const admission = admit(endpoint.circuit, now(), random());
        if (!admission.attempt) return { kind: 'deferred', delayMs: admission.retryInMs };
        endpoint.circuit = admission.circuit;
        const deadline = Date.now() + limits.attemptTimeoutMs;
        const what = `delivery to ${tenantId}`;
        try {
          // Not the endpoint's fault (the queue refused): not counted against its circuit.
          if (beforeAttempt)
            await withinDeadline((signal) => beforeAttempt(now() - arrived, signal), deadline, what);
        } catch (error) {
          return { kind: 'failed', error };
        }
        try {
          await withinDeadline(deliver, deadline, what);
        } catch (error) {
          // A hung attempt: its slot is freed; a probe it was is released (`settled` stays false).
          if (error instanceof DeliveryDeadlineError) return { kind: 'failed', error };
          settled = true;
          endpoint.circuit = recordFailure(endpoint.circuit, describe(error), now(), policy, random());
          return { kind: 'failed', error };
        }
        settled = true;
        endpoint.circuit = recordSuccess(endpoint.circuit);
        return { kind: 'delivered' };
      } finally {
        if (!settled) endpoint.circuit = releaseProbe(endpoint.circuit);
        release(tenantId, endpoint);
      }
    },
    health: (tenantId) => endpointHealth(endpoints.get(tenantId)?.circuit ?? CLOSED_CIRCUIT, now()),
    reset(tenantId) {
      const endpoint = endpoints.get(tenantId);
      if (endpoint) endpoint.circuit = CLOSED_CIRCUIT;
    },
  };
}

/**
 * A delivery the endpoint itself failed: it refused or dropped the connection, answered other than 2xx, or
 * its URL or address is refused by the target policy. Messages of this kind are written for the tenant.
 */
export class EndpointDeliveryError extends Error {}

/** Said for any other failure (a store or directory read, a bug): its message names the platform's insides. */
export const PLATFORM_FAILURE =
  'not delivered: the platform failed before sending (not the endpoint); operators can see why';

/**
 * A failure as the endpoint's `lastError`, which its tenant reads (`GET /v1/settings/webhook`): the
 * endpoint's own failure as it says, anything else (an SQLite or SDK message naming files, tables, hosts)
 * as a fixed sentence; the error itself reaches operators through the dispatcher's `onError` log.
 */
function describe(error: unknown): string {
  return error instanceof EndpointDeliveryError ? error.message : PLATFORM_FAILURE;
}
