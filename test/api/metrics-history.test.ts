import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'silopool-history-api-'));
const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = async () => {
  const server = await startTestServer({ dataDir, env: { SILOPOOL_METRICS_INTERVAL_SEC: '1' } });
  servers.push(server);
  return server;
};

type History = { metric: string; unit: string; points: { at: string; value: number }[] };
const history = async (server: TestServer, query: string): Promise<History> => {
  const res = await server.api(`/v1/admin/metrics/history?${query}`, { token: server.operatorToken });
  expect(res.status).toBe(200);
  return (await res.json()) as History;
};
const total = (h: History) => h.points.reduce((t, p) => t + p.value, 0);

/** Polls until `check` holds for the history answer (samples are taken every second here). */
async function eventually(
  server: TestServer,
  query: string,
  check: (h: History) => boolean,
): Promise<History> {
  for (let i = 0; i < 100; i++) {
    const h = await history(server, query);
    if (check(h)) return h;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`history ${query} never matched`);
}

describe('metrics history and alerts over HTTP (embedded server)', () => {
  const tenant = newTenantId('hist');

  it('samples finished jobs per tenant and for the platform, and keeps them across a restart', async () => {
    const server = await start();
    const { apiKey } = await server.createTenant(tenant);
    for (const revenue of [100, 200]) {
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: JSON.stringify({ input: { revenue } }),
      });
      const { id } = (await res.json()) as { id: string };
      expect((await waitForJob(server, apiKey, id)).status).toBe('succeeded');
    }
    const mine = await eventually(server, `metric=jobs_succeeded&tenant=${tenant}`, (h) => total(h) === 2);
    expect(mine).toMatchObject({ metric: 'jobs_succeeded', unit: 'jobs' });
    await eventually(server, 'metric=jobs_succeeded', (h) => total(h) === 2);
    await server.stop();
    servers.pop();

    const again = await start();
    // What was sampled before the restart is still there, and the restart counts nothing twice.
    await new Promise((r) => setTimeout(r, 1500));
    expect(total(await history(again, `metric=jobs_succeeded&tenant=${tenant}`))).toBe(2);
    const disk = await history(again, 'metric=data_dir_free_ratio');
    expect(disk.points.length).toBeGreaterThan(0);
    expect(disk.points.at(-1)!.value).toBeGreaterThan(0);
  });

  it('answers operators only; an unknown metric is a 400 naming the allowed ones', async () => {
    const server = servers.at(-1)!;
    const { apiKey } = await server.createTenant(newTenantId('nosy'));
    for (const path of [
      `/v1/admin/metrics/history?metric=jobs_failed&tenant=${tenant}`,
      '/v1/admin/alerts',
    ]) {
      expect((await server.api(path, { token: apiKey })).status).toBe(403);
      expect((await server.api(path)).status).toBe(401);
    }
    const bad = await server.api('/v1/admin/metrics/history?metric=nope', { token: server.operatorToken });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.stringify(await bad.json())).toContain('jobs_failed');
    // Bounds the wrong way round were an empty chart, 200; GET /v1/admin/jobs already refused them.
    const reversed = await server.api(
      '/v1/admin/metrics/history?metric=jobs_failed&from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z',
      { token: server.operatorToken },
    );
    expect(reversed.status).toBe(400);
    expect(await reversed.json()).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: '/querystring/from', message: 'must not be after `to`' }],
    });
  });

  it('lists the alert rules and what fires now', async () => {
    const server = servers.at(-1)!;
    const res = await server.api('/v1/admin/alerts', { token: server.operatorToken });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      items: { name: string; tenantId?: string }[];
      rules: { name: string }[];
    };
    expect(body.rules.map((r) => r.name)).toEqual([
      'SilopoolDeadLetters',
      'SilopoolJobFailureRate',
      'SilopoolQueueWaitP95',
      'SilopoolDiskSpaceLow',
      'SilopoolColdStarts',
    ]);
    expect(body.items.filter((a) => a.tenantId === tenant)).toEqual([]);
  });
});
