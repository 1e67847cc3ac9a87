import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offboardTenant, pauseTenant } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  // One event stream per tenant, so a slot left taken shows at the first stream.
  server = await startTestServer({ env: { SILOPOOL_SSE_MAX_STREAMS: '1' } });
});
afterAll(async () => {
  await server?.stop();
});

/** A tenant whose jobs wait (maxRunningJobs 0 pauses it), with one job queued; its API key and the job. */
async function pausedTenantWithQueuedJob(id: string): Promise<{ apiKey: string; jobId: string }> {
  const { apiKey } = await server.createTenant(id);
  await pauseTenant(server, id);
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: apiKey,
    body: '{"input":{}}',
  });
  expect(res.status).toBe(202);
  return { apiKey, jobId: ((await res.json()) as { id: string }).id };
}

const offboard = (id: string) => offboardTenant(server, id);

// Event stream slots were counted per tenant id in the API process: the streams a tenant held when it was
// offboarded (its queued jobs cancelled by the offboarding, which no stream hears of) stayed open until their
// life ended (5 minutes by default), and the next customer under the same id found its slots taken: 429.
describe('a tenant id created again, and event streams', () => {
  it("gets its own stream slots, not the ones its predecessor's open streams still hold", async () => {
    const id = newTenantId('reuse-sse');
    const first = await pausedTenantWithQueuedJob(id);
    const controller = new AbortController();
    const held = await server.api(`/v1/jobs/${first.jobId}/events`, {
      token: first.apiKey,
      signal: controller.signal,
    });
    try {
      expect(held.status).toBe(200);
      await offboard(id);

      const second = await pausedTenantWithQueuedJob(id);
      const next = new AbortController();
      const res = await server.api(`/v1/jobs/${second.jobId}/events`, {
        token: second.apiKey,
        signal: next.signal,
      });
      try {
        expect(res.status).toBe(200);
      } finally {
        next.abort();
        await res.body?.cancel().catch(() => undefined);
      }
    } finally {
      controller.abort();
      await held.body?.cancel().catch(() => undefined);
    }
  }, 60_000);
});
