import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('an offboarded tenant', () => {
  it('leaves /metrics and every per-tenant list of the operator API', async () => {
    const op = { token: server.operatorToken };
    const gone = newTenantId('gone');
    const stays = newTenantId('stays');
    for (const id of [gone, stays]) {
      const { apiKey } = await server.createTenant(id);
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: '{"input":{}}',
      });
      await waitForJob(server, apiKey, ((await res.json()) as { id: string }).id);
    }
    const before = await (await server.api('/metrics', op)).text();
    expect(before).toContain(`tenant="${gone}"`);

    const started = await server.api(`/v1/admin/tenants/${gone}/offboard`, { method: 'POST', ...op });
    expect(started.status).toBe(202);
    const { id: operationId } = (await started.json()) as { id: string };
    for (let i = 0; i < 300; i++) {
      const { status } = (await (await server.api(`/v1/admin/operations/${operationId}`, op)).json()) as {
        status: string;
      };
      if (status !== 'running') {
        expect(status).toBe('succeeded');
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    // Counted from the status event a function thread relays after its commit (docs/operations.md).
    await expect
      .poll(async () => (await server.api('/metrics', op)).text(), { timeout: 10_000 })
      .toContain(`silopool_jobs_finished_total{tenant="${stays}",status="succeeded"} 1`);
    const after = await (await server.api('/metrics', op)).text();
    expect(after).not.toContain(`tenant="${gone}"`);
    expect(after).toContain(`silopool_jobs_finished_total{tenant="${stays}",status="succeeded"} 1`);
    const lists = ['/v1/admin/tenants?limit=500', '/v1/admin/usage', '/v1/admin/advisor'];
    for (const path of lists) {
      const body = await (await server.api(path, op)).text();
      expect(body, path).not.toContain(`"${gone}"`);
      expect(body, path).toContain(`"${stays}"`);
    }
  }, 90_000);
});
