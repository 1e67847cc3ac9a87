import { describe, expect, it } from 'vitest';
import { until } from '../placement/helpers.ts';
import { checkChaos } from './checker.ts';
import { chaosHarness } from './harness.ts';
import { type Behaviour, startReceiver } from './receivers.ts';
import { newLedger, report, SCALE, submitLoad } from './support.ts';

/** The server's delivery timeout (webhook-dispatcher default), ms. */
const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Webhook receivers that are dead (connection refused), hang, answer slower than the delivery timeout
 * (then take the retry), and redirect (307, never followed), beside a healthy one. Every tenant's jobs
 * still end; the healthy and slow receivers get every notification (the slow one twice under one
 * webhook-id); the others' notifications wait visibly on the webhook queue with their endpoint shown
 * failing; the redirect target is never called; the healthy receiver is not delayed by the others.
 */
describe('dead, slow and redirecting webhook receivers', () => {
  const chaos = chaosHarness();

  it('delivers each notification once per webhook-id or holds it visibly, and delays no other tenant', async () => {
    const target = await chaos.start();
    const ledger = newLedger();
    const trap = await startReceiver('ok');
    chaos.receivers.push(trap);
    const behaviours: Behaviour[] = [
      'ok',
      'dead',
      'hang',
      { slowMs: DELIVERY_TIMEOUT_MS + 1_000 },
      { redirect: trap.url },
    ];
    await chaos.addTenants(
      ledger,
      behaviours.map((behaviour) => ({ prefix: 'hook', behaviour })),
    );
    // Three jobs per tenant: fewer than the five failures that open a circuit, so the slow one's retries go.
    await submitLoad(target, ledger, ledger.tenants, {
      concurrency: 3,
      max: 3 * SCALE * ledger.tenants.length,
      until: () => false,
    });

    const result = await checkChaos(target.current(), ledger, {
      terminalWithinMs: 30_000,
      notifyWithinMs: 3 * DELIVERY_TIMEOUT_MS,
    });
    expect(trap.requests(), 'the redirect was followed').toBe(0);
    const [healthy, , , slow] = ledger.tenants.map((t) => t.receiver!);
    // Isolation, not speed: a delivery queued behind the hanging ones would wait out their timeout.
    const latencies = healthy!.deliveries.map((d) => d.receivedAt - Date.parse(d.finishedAt));
    expect(Math.max(...latencies)).toBeLessThan(DELIVERY_TIMEOUT_MS / 2);
    // The slow receiver's answers came after the timeout: each notification was sent again, same id.
    expect(new Set(slow!.deliveries.map((d) => d.webhookId)).size).toBe(3 * SCALE);
    await until("the slow receiver's retries", async () => slow!.deliveries.length >= 2 * 3 * SCALE);
    report('webhook receivers', {
      healthyLatencyMaxMs: Math.max(...latencies),
      slowDeliveredAfterMs: Math.max(...slow!.deliveries.map((d) => d.receivedAt - Date.parse(d.finishedAt))),
      requests: Object.fromEntries(
        ledger.tenants.map((t) => [JSON.stringify(t.receiver!.behaviour), t.receiver!.requests()]),
      ),
      ...result,
    });
  }, 120_000);
});
