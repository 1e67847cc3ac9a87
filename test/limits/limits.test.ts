import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

/** The function host re-reads tenant limits this often; tests wait one period after setting limits. */
const HOST_LIMITS_REFRESH_MS = 2000;

let server: TestServer;
const tenants = {
  rate: { id: newTenantId('rate'), key: '' },
  queued: { id: newTenantId('queued'), key: '' },
  serial: { id: newTenantId('serial'), key: '' },
  racing: { id: newTenantId('racing'), key: '' },
};

async function setLimits(id: string, limits: Record<string, number>): Promise<void> {
  const res = await server.api(`/v1/admin/tenants/${id}`, {
    method: 'PATCH',
    token: server.operatorToken,
    body: JSON.stringify({ config: { limits } }),
  });
  expect(res.status).toBe(200);
}

function submit(apiKey: string, input: Record<string, unknown> = {}): Promise<Response> {
  return server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: apiKey,
    body: JSON.stringify({ input }),
  });
}

beforeAll(async () => {
  // Several workers, so that only the limit (not a lack of workers) keeps a tenant's jobs apart.
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '4' } });
  for (const t of Object.values(tenants)) t.key = (await server.createTenant(t.id)).apiKey;
  await setLimits(tenants.rate.id, { submitRatePerSec: 0.01, submitBurst: 3, maxQueuedJobs: 1000 });
  // maxRunningJobs 0 is how an operator pauses a tenant's processing: its jobs wait, nothing runs.
  await setLimits(tenants.queued.id, {
    maxRunningJobs: 0,
    maxQueuedJobs: 3,
    submitRatePerSec: 100,
    submitBurst: 100,
  });
  await setLimits(tenants.racing.id, {
    maxRunningJobs: 0,
    maxQueuedJobs: 5,
    submitRatePerSec: 100,
    submitBurst: 100,
  });
  await setLimits(tenants.serial.id, { maxRunningJobs: 1, submitRatePerSec: 100, submitBurst: 100 });
  await new Promise((r) => setTimeout(r, HOST_LIMITS_REFRESH_MS + 500));
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('per-tenant limits', () => {
  it('admits `submitBurst` submits, then answers 429 with Retry-After and the RateLimit fields', async () => {
    const { key } = tenants.rate;
    for (let i = 0; i < 3; i++) {
      const res = await submit(key);
      expect(res.status).toBe(202);
      expect(res.headers.get('ratelimit-policy')).toBe('"submit";q=3;w=300');
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"submit";r=${2 - i};t=\\d+$`));
    }
    const refused = await submit(key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const retryAfter = Number(refused.headers.get('retry-after'));
    // One token at 0.01/s takes about 100 s to come back.
    expect(retryAfter).toBeGreaterThan(90);
    expect(retryAfter).toBeLessThanOrEqual(100);
    expect(refused.headers.get('ratelimit-policy')).toBe('"submit";q=3;w=300');
    expect(refused.headers.get('ratelimit')).toBe(`"submit";r=0;t=${retryAfter}`);
    const problem = (await refused.json()) as { status: number; code: string; limit: string; detail: string };
    expect(problem).toMatchObject({ status: 429, code: 'rate_limited', limit: 'submit_rate' });
    expect(problem.detail).toContain('0.01 jobs per second');
  });

  it('admits `maxQueuedJobs` waiting jobs, then answers 429; a paused tenant keeps them queued', async () => {
    const { id, key } = tenants.queued;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await submit(key);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const refused = await submit(key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { limit: string }).limit).toBe('queued_jobs');

    for (const jobId of ids) {
      const job = (await (await server.api(`/v1/jobs/${jobId}`, { token: key })).json()) as {
        status: string;
      };
      expect(job.status).toBe('queued');
    }
    const metrics = await (await server.api('/metrics', { token: server.operatorToken })).text();
    expect(metrics).toContain(`silopool_queue_depth{tenant="${id}",model="finance"} 3`);
    expect(metrics).toContain(`silopool_submits_throttled_total{tenant="${id}",limit="queued_jobs"} 1`);

    // Resuming lets the backlog drain, and the tenant may submit again.
    await setLimits(id, { maxRunningJobs: 2, maxQueuedJobs: 3, submitRatePerSec: 100, submitBurst: 100 });
    for (const jobId of ids) expect((await waitForJob(server, key, jobId)).status).toBe('succeeded');
    expect((await submit(key)).status).toBe(202);
  });

  it('admits exactly `maxQueuedJobs` of many concurrent submits', async () => {
    const responses = await Promise.all(Array.from({ length: 12 }, () => submit(tenants.racing.key)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(202), ...Array(7).fill(429)]);
  });

  it('never runs two jobs of a tenant at once when its maxRunningJobs is 1', async () => {
    const { key } = tenants.serial;
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => submit(key, { years: 3 + i })));
    const ids = await Promise.all(
      responses.map(async (res) => {
        expect(res.status).toBe(202);
        return ((await res.json()) as { id: string }).id;
      }),
    );
    const jobs = await Promise.all(ids.map((jobId) => waitForJob(server, key, jobId)));
    const spans = jobs
      .map((job) => {
        expect(job.status).toBe('succeeded');
        return { start: Date.parse(String(job.startedAt)), end: Date.parse(String(job.finishedAt)) };
      })
      .sort((a, b) => a.start - b.start);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
  });
});

describe('visibility', () => {
  it('serves per-tenant metrics to operators only', async () => {
    expect((await server.api('/metrics')).status).toBe(401);
    expect((await server.api('/metrics', { token: tenants.serial.key })).status).toBe(403);
    const res = await server.api('/metrics', { token: server.operatorToken });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const serial = tenants.serial.id;
    // The figures come from status events a function thread relays after its commit: the last job may read
    // finished a moment before it is counted (docs/operations.md, Visibility).
    const scrape = async () => (await server.api('/metrics', { token: server.operatorToken })).text();
    await expect
      .poll(scrape, { timeout: 10_000 })
      .toContain(`silopool_jobs_finished_total{tenant="${serial}",status="succeeded"} 8`);
    const text = await scrape();
    expect(text).toContain('# TYPE silopool_job_wait_seconds histogram');
    expect(text).toContain(`silopool_jobs_finished_total{tenant="${serial}",status="succeeded"} 8`);
    expect(text).toContain(`silopool_job_wait_seconds_count{tenant="${serial}"} 8`);
    expect(text).toContain(`silopool_job_wait_seconds_bucket{tenant="${serial}",le="+Inf"} 8`);
    expect(text).toContain(`silopool_jobs_running{tenant="${serial}"} 0`);
    expect(text).toContain(
      `silopool_submits_throttled_total{tenant="${tenants.rate.id}",limit="submit_rate"} 1`,
    );
  });

  it('reports usage, load and throttles per tenant in the operator API', async () => {
    const res = await server.api('/v1/admin/usage', { token: server.operatorToken });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: Record<string, number | string>[] };
    const serial = items.find((u) => u.tenantId === tenants.serial.id)!;
    expect(serial).toMatchObject({ queued: 0, running: 0, succeeded: 8, failed: 0, throttled: 0, jobs: 8 });
    for (const field of ['waitP50Sec', 'waitP95Sec', 'computeSeconds', 'storageBytes', 'costUsd']) {
      expect(typeof serial[field]).toBe('number');
    }
    expect(serial.storageBytes as number).toBeGreaterThan(0);
    expect(serial.computeSeconds as number).toBeGreaterThan(0);
    expect(serial.waitP95Sec as number).toBeGreaterThanOrEqual(serial.waitP50Sec as number);
    const rate = items.find((u) => u.tenantId === tenants.rate.id)!;
    expect(rate).toMatchObject({ throttled: 1, jobs: 3 });
    expect((await server.api('/v1/admin/usage', { token: tenants.rate.key })).status).toBe(403);
    // A window counts recent jobs only (all of them here) and refuses a nonsense one.
    const recent = await server.api('/v1/admin/usage?days=1', { token: server.operatorToken });
    const recentItems = ((await recent.json()) as { items: Record<string, number | string>[] }).items;
    expect(recentItems.find((u) => u.tenantId === tenants.serial.id)).toMatchObject({ jobs: 8 });
    expect((await server.api('/v1/admin/usage?days=0', { token: server.operatorToken })).status).toBe(400);
  });
});
