import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offboardTenant } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const op = () => ({ token: server.operatorToken });

const offboard = (id: string) => offboardTenant(server, id);

/** The `/metrics` lines of one tenant. */
async function metricsOf(id: string): Promise<string[]> {
  const text = await (await server.api('/metrics', op())).text();
  return text.split('\n').filter((line) => line.includes(`tenant="${id}"`));
}

// The API process keeps per-tenant figures (finished jobs, waits, throttles) by tenant id; they were dropped
// only when a /metrics scrape or a history sample saw the id absent. An id offboarded and onboarded again
// in between took over its predecessor's figures: its counters, and the waits the placement advisor reads.
describe('a tenant id created again, and its operational figures', () => {
  it("starts from none, not from its predecessor's finished jobs and waits", async () => {
    const id = newTenantId('reuse-metrics');
    const first = await server.createTenant(id);
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: first.apiKey,
      body: '{"input":{}}',
    });
    expect(res.status).toBe(202);
    await waitForJob(server, first.apiKey, ((await res.json()) as { id: string }).id);
    await offboard(id);

    await server.createTenant(id);
    const lines = await metricsOf(id);
    expect(lines.filter((l) => l.startsWith('silopool_jobs_finished_total'))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('silopool_job_wait_seconds_count'))).toEqual([]);
  }, 60_000);
});
