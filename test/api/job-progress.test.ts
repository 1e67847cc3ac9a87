import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Job } from '../../src/client/index.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('progress of a long model run', () => {
  it('reaches the job resource and its SSE stream as paths done of all paths, then goes with the job', async () => {
    const tenantId = newTenantId('progress');
    const { apiKey } = await server.createTenant(tenantId);
    const client = createClient({ baseUrl: server.url, token: apiKey, tenantId });
    const job = await client.submitJob('funds', { simulations: 20_000, growthVolatility: 0.2 });
    const seen: Job[] = [];
    let polled: Job['progress'];
    // Beside the stream, the job resource: while running it carries the same progress.
    const poll = (async () => {
      for (let i = 0; i < 200 && !polled; i++) {
        const now = await client.getJob(job.id);
        if (now.status !== 'queued' && now.status !== 'running') return;
        polled = now.progress;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    for await (const next of client.watchJob(job.id)) seen.push(next);
    await poll;
    expect(seen.at(-1)?.status).toBe('succeeded');
    expect(seen.at(-1)?.progress).toBeUndefined();
    const reports = seen.flatMap((j) => (j.progress ? [j.progress] : []));
    expect(reports.length).toBeGreaterThan(1);
    for (const r of reports) expect(r).toMatchObject({ total: 20_000, unit: 'paths' });
    const done = reports.map((r) => r.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done[0]).toBeLessThan(20_000);
    expect(polled).toMatchObject({ total: 20_000, unit: 'paths' });
    expect((await client.getJob(job.id)).progress).toBeUndefined();
  }, 90_000);
});
