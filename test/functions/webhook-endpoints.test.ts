import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeliveryDeadlineError } from '../../src/functions/delivery-deadline.ts';
import {
  createWebhookEndpoints,
  EndpointDeliveryError,
  PLATFORM_FAILURE,
  retryDelaySec,
} from '../../src/functions/webhook-endpoints.ts';
import { newTenantId } from '../support/server.ts';

/** A delivery that hangs until released, counting how many are in flight at once. */
function hangingReceiver() {
  const pending: { resolve(): void; reject(error: Error): void }[] = [];
  const stats = { inFlight: 0, maxInFlight: 0, calls: 0 };
  const deliver = () =>
    new Promise<void>((resolve, reject) => {
      stats.calls += 1;
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      const done = () => (stats.inFlight -= 1);
      pending.push({
        resolve: () => {
          done();
          resolve();
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
    });
  return { deliver, pending, stats };
}

describe('webhook endpoints', () => {
  it("never makes one endpoint's deliveries wait for another's, and holds one endpoint to its limit", async () => {
    const endpoints = createWebhookEndpoints({
      limits: { maxInFlight: 3, maxWaiting: 5, busyDelayMs: 1000 },
    });
    const [slow, fast] = [newTenantId('slow'), newTenantId('fast')];
    const hang = hangingReceiver();
    const slowRuns = Array.from({ length: 8 }, () => endpoints.run(slow, hang.deliver));
    await Promise.resolve();
    expect(hang.stats.inFlight).toBe(3);
    const fastOutcomes = await Promise.all(
      Array.from({ length: 5 }, () => endpoints.run(fast, async () => undefined)),
    );
    expect(fastOutcomes.every((o) => o.kind === 'delivered')).toBe(true);
    // Three in flight, five waiting: a ninth is sent back to the queue at once, unattempted.
    const ninth = await endpoints.run(slow, hang.deliver);
    expect(ninth).toEqual({ kind: 'deferred', delayMs: expect.any(Number) });
    while (hang.pending.length > 0) {
      hang.pending.shift()!.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect((await Promise.all(slowRuns)).map((o) => o.kind)).toEqual(Array(8).fill('delivered'));
    expect(hang.stats.maxInFlight).toBe(3);
  });

  it('opens the circuit after repeated failures: messages are deferred, not attempted, waiting ones too', async () => {
    let now = 1_000_000;
    const endpoints = createWebhookEndpoints({
      limits: { maxInFlight: 2, maxWaiting: 10 },
      policy: { failureThreshold: 3, baseBackoffMs: 10_000, maxBackoffMs: 60_000 },
      now: () => now,
      random: () => 0.5,
    });
    const tenant = newTenantId('dead');
    const hang = hangingReceiver();
    const runs = Array.from({ length: 6 }, () => endpoints.run(tenant, hang.deliver));
    await Promise.resolve();
    for (let i = 0; i < 3; i++) {
      hang.pending.shift()!.reject(new EndpointDeliveryError('timed out'));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(endpoints.health(tenant)).toMatchObject({
      state: 'circuit_open',
      consecutiveFailures: 3,
      lastError: 'timed out',
    });
    // The one still in flight ends; the waiting ones found the circuit open and never reached the receiver.
    hang.pending.shift()!.reject(new Error('timed out'));
    const outcomes = await Promise.all(runs);
    expect(outcomes.map((o) => o.kind)).toEqual([
      'failed',
      'failed',
      'failed',
      'failed',
      'deferred',
      'deferred',
    ]);
    expect(hang.stats.calls).toBe(4);
    const deferred = await endpoints.run(tenant, hang.deliver);
    expect(deferred.kind).toBe('deferred');
    expect(hang.stats.calls).toBe(4);
    if (deferred.kind === 'deferred') expect(deferred.delayMs).toBeGreaterThanOrEqual(5_000);

    // After the period one probe goes through; its success closes the circuit.
    now += 61_000;
    expect(await endpoints.run(tenant, async () => undefined)).toEqual({ kind: 'delivered' });
    expect(endpoints.health(tenant)).toEqual({ state: 'healthy', consecutiveFailures: 0 });
  });

  it('frees the slot of an attempt that never settles at its deadline: the next delivery still goes', async () => {
    const endpoints = createWebhookEndpoints({
      limits: { maxInFlight: 2, maxWaiting: 5, busyDelayMs: 1000, attemptTimeoutMs: 50 },
    });
    const key = newTenantId('hung');
    // A store call that never answers, three times: both slots taken, one more waiting behind them.
    const never = () => new Promise<void>(() => {});
    const hung = Array.from({ length: 3 }, () => endpoints.run(key, never));
    let delivered = false;
    const normal = endpoints.run(key, async () => {
      delivered = true;
    });
    expect(await normal).toEqual({ kind: 'delivered' });
    expect(delivered).toBe(true);
    for (const outcome of await Promise.all(hung)) {
      expect(outcome.kind).toBe('failed');
      expect(outcome.kind === 'failed' && outcome.error).toBeInstanceOf(DeliveryDeadlineError);
    }
    // The platform's hang is not the receiver's failure: the circuit stays closed.
    expect(endpoints.health(key).state).toBe('healthy');
  });

  it('retries a failed message after 2^receives seconds with jitter, a deferred one when told', () => {
    const failed = { kind: 'failed', error: new Error('500') } as const;
    expect(retryDelaySec(failed, 1, 0)).toBe(1);
    expect(retryDelaySec(failed, 1, 0.999)).toBe(2);
    expect(retryDelaySec(failed, 5, 0)).toBe(16);
    expect(retryDelaySec(failed, 40, 0.999)).toBeLessThanOrEqual(3600);
    expect(retryDelaySec({ kind: 'deferred', delayMs: 12_300 }, 1)).toBe(13);
  });

  it("keeps a platform fault's words (a path, a table) out of the tenant's lastError", async () => {
    const endpoints = createWebhookEndpoints();
    const tenant = newTenantId('leak');
    const dir = mkdtempSync(join(tmpdir(), 'silopool-leak-'));
    try {
      // What a store read inside the delivery throws: the file system's own words, naming the path.
      const missing = join(dir, 'tenants', tenant, 'jobs.sqlite');
      const outcome = await endpoints.run(tenant, async () => {
        await readFile(missing);
      });
      expect(outcome.kind).toBe('failed');
      expect(String((outcome as { error: Error }).error.message)).toContain(missing);
      const health = endpoints.health(tenant);
      expect(health.lastError).toBe(PLATFORM_FAILURE);
      expect(JSON.stringify(health)).not.toContain(dir);
      // The endpoint's own failure is still told as it is.
      await endpoints.run(tenant, async () => {
        throw new EndpointDeliveryError('webhook not delivered: answered 500');
      });
      expect(endpoints.health(tenant).lastError).toBe('webhook not delivered: answered 500');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
