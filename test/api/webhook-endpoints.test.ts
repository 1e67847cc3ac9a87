import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOffboard, waitForOperation } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// Webhook endpoints of different tenants on the real server with real local receivers: a receiver that
// never answers must not delay anyone else's notifications, and a failing one opens its circuit, shown to
// its tenant only. The receivers are on loopback, allowed only because the operator says so here.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    env: { SILOPOOL_WEBHOOK_ALLOW_HTTP: '1', SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' },
  });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

interface Delivery {
  webhookId: string;
  receivedAt: number;
  payload: { type: string; data: { id: string; finishedAt: string } };
}

/** A receiver that answers `status` at once, or (`hang`) never answers, recording what it was sent. */
async function receiver(behaviour: { status: number } | 'hang') {
  const deliveries: Delivery[] = [];
  let requests = 0;
  const requestTimes: number[] = [];
  const endTimes: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests += 1;
      requestTimes.push(Date.now());
      if (behaviour === 'hang') {
        // Never answered: it ends when the sender gives up (its timeout) or the receiver closes.
        res.on('close', () => endTimes.push(Date.now()));
        return;
      }
      if (behaviour.status < 300) {
        deliveries.push({
          webhookId: String(req.headers['webhook-id']),
          receivedAt: Date.now(),
          payload: JSON.parse(body),
        });
      }
      res.writeHead(behaviour.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    requests: () => requests,
    /** When each request arrived (epoch ms, the clock the server's `retryAt` is on). */
    requestTimes,
    /** When each request a hanging receiver held ended (the sender gave up on it). */
    endTimes,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function hookedTenant(url: string) {
  const id = newTenantId('hook');
  const { apiKey } = await server.createTenant(id);
  const set = await server.api('/v1/settings/webhook', {
    method: 'PUT',
    token: apiKey,
    body: JSON.stringify({ url }),
  });
  expect(set.status).toBe(200);
  return { id, apiKey };
}

async function submit(apiKey: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: '{"input":{}}',
    });
    expect(res.status).toBe(202);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

async function until<T>(
  what: string,
  read: () => Promise<T> | T,
  ok: (value: T) => boolean,
  timeoutMs = 40_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface WebhookSettings {
  url?: string;
  health?: {
    state: string;
    consecutiveFailures: number;
    failingSince?: string;
    lastError?: string;
    retryAt?: string;
    deadLetteredDeliveries?: number;
  };
}

async function webhookSettings(apiKey: string, tenant?: string) {
  const res = await server.api('/v1/settings/webhook', { token: apiKey, ...(tenant ? { tenant } : {}) });
  return { status: res.status, body: (await res.json()) as WebhookSettings };
}

describe('webhook endpoints on the real server', () => {
  it("a receiver that never answers delays no other tenant's notifications, and times out itself", async () => {
    const hang = await receiver('hang');
    const [fastA, fastB] = [await receiver({ status: 204 }), await receiver({ status: 200 })];
    try {
      const hanging = await hookedTenant(hang.url);
      const a = await hookedTenant(fastA.url);
      const b = await hookedTenant(fastB.url);
      await submit(hanging.apiKey, 8);
      // The hanging endpoint holds deliveries in flight before the others' jobs even finish.
      await until('hanging deliveries', hang.requests, (n) => n >= 2);
      const jobs = new Map<string, string[]>();
      for (let round = 0; round < 4; round++) {
        for (const [tenant, r] of [
          [a, fastA],
          [b, fastB],
        ] as const) {
          jobs.set(r.url, [...(jobs.get(r.url) ?? []), ...(await submit(tenant.apiKey, 2))]);
        }
      }
      for (const r of [fastA, fastB]) {
        const expected = jobs.get(r.url) as string[];
        await until(
          `deliveries to ${r.url}`,
          () => r.deliveries.length,
          (n) => n >= expected.length,
        );
        // Each notification once: one delivery per job, one webhook-id per job and status.
        expect(new Set(r.deliveries.map((d) => d.webhookId)).size).toBe(expected.length);
        expect(r.deliveries.map((d) => d.payload.data.id).sort()).toEqual([...expected].sort());
        // None waited for the hanging endpoint: every one arrived while the deliveries it holds were still
        // in flight, before the first of them timed out (10 s after it was sent). A delivery queued behind a
        // hanging one would arrive only once that one had ended (tried: with two delivery slots, the
        // hanging endpoint holds both and this fails). Order, not a latency bound: here they all arrive
        // within half a second of the first hanging request, twenty times inside its timeout.
        const firstHangEnded = Math.min(...hang.endTimes);
        const lastDelivered = Math.max(...r.deliveries.map((d) => d.receivedAt));
        expect(lastDelivered, 'the last delivery to a healthy endpoint, in epoch ms').toBeLessThan(
          firstHangEnded,
        );
      }
      // The hanging endpoint's deliveries time out (10 s) and count against it; the others stay healthy.
      const failing = await until(
        'the hanging endpoint failing',
        () => webhookSettings(hanging.apiKey),
        (s) => s.body.health?.state !== 'healthy',
      );
      expect(failing.body).toMatchObject({
        url: hang.url,
        health: { lastError: expect.stringMatching(/not delivered/) },
      });
      expect(failing.body.health?.consecutiveFailures).toBeGreaterThanOrEqual(1);
      expect((await webhookSettings(a.apiKey)).body).toEqual({
        url: fastA.url,
        health: { state: 'healthy', consecutiveFailures: 0, deadLetteredDeliveries: 0 },
      });
    } finally {
      for (const r of [hang, fastA, fastB]) r.close();
    }
  }, 90_000);

  it("opens a failing endpoint's circuit and shows its state to its tenant, not to another", async () => {
    const failing = await receiver({ status: 500 });
    const healthy = await receiver({ status: 204 });
    try {
      const f = await hookedTenant(failing.url);
      const g = await hookedTenant(healthy.url);
      await submit(f.apiKey, 6);
      const open = await until(
        'the circuit open',
        () => webhookSettings(f.apiKey),
        (s) => s.body.health?.state === 'circuit_open',
      );
      expect(open.status).toBe(200);
      expect(open.body.health).toMatchObject({
        consecutiveFailures: expect.any(Number),
        lastError: expect.stringContaining('answered 500'),
        failingSince: expect.any(String),
        retryAt: expect.any(String),
        deadLetteredDeliveries: 0,
      });
      expect(open.body.health?.consecutiveFailures).toBeGreaterThanOrEqual(5);
      const seenOpen = Date.now();
      const retryAt = Date.parse(String(open.body.health?.retryAt));
      expect(retryAt).toBeGreaterThan(seenOpen);
      // While open (the first period is 2.5-5 s), nothing is attempted: its messages, whose retries come
      // after 1-2 s, wait on the queue. Checked over the whole period up to `retryAt`, by when each request
      // arrived, not by a count after a fixed sleep (which, begun late on a busy machine, ran into the retry).
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, retryAt - Date.now()) + 200));
      expect(failing.requestTimes.filter((t) => t >= seenOpen && t < retryAt)).toEqual([]);

      // Another tenant sees its own endpoint, healthy, and cannot name the failing one's.
      const own = await webhookSettings(g.apiKey);
      expect(own.body).toEqual({
        url: healthy.url,
        health: { state: 'healthy', consecutiveFailures: 0, deadLetteredDeliveries: 0 },
      });
      const other = await webhookSettings(g.apiKey, f.id);
      expect(other.status).toBeGreaterThanOrEqual(400);
      expect(JSON.stringify(other.body)).not.toContain(failing.url);
      // A tenant without a webhook has nothing to show.
      const { apiKey } = await server.createTenant(newTenantId('nohook'));
      expect((await webhookSettings(apiKey)).status).toBe(404);
    } finally {
      failing.close();
      healthy.close();
    }
  }, 60_000);

  it("gives a tenant id onboarded again a healthy endpoint, not its predecessor's open circuit", async () => {
    // The circuit is kept by tenant id: the next customer under an offboarded id, onboarded with its own
    // webhook, had its deliveries deferred by its predecessor's failures and was shown their last error.
    const failing = await receiver({ status: 500 });
    const healthy = await receiver({ status: 204 });
    try {
      const f = await hookedTenant(failing.url);
      await submit(f.apiKey, 6);
      await until(
        'the circuit open',
        () => webhookSettings(f.apiKey),
        (s) => s.body.health?.state === 'circuit_open',
      );
      const off = await startOffboard(server, f.id);
      expect((await waitForOperation(server, off.id)).status).toBe('succeeded');
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      const { apiKey } = await server.createTenant(f.id, {
        config: { webhook: { url: healthy.url, secret } },
      });
      const now = await webhookSettings(apiKey);
      expect(now.body).toEqual({
        url: healthy.url,
        health: { state: 'healthy', consecutiveFailures: 0, deadLetteredDeliveries: 0 },
      });
    } finally {
      failing.close();
      healthy.close();
    }
  }, 60_000);
});
