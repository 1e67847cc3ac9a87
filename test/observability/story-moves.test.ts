import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMove, submit, waitForOperation } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

interface Step {
  step: string;
  attempt?: number;
  lane?: string;
  fn?: string;
  detail?: string;
}

/** About 4 s of work in one process, against a 3 s limit (cold start included): every delivery is killed. */
// Longer than the dedicated function's 1 s time limit on any machine here (30 years quarterly, 100,000 paths).
const LONG_FUNDS = { simulations: 100_000, periodsPerYear: 4, fundLifeYears: 30, seed: 7 };

describe("a job's story over restarts, moves, dead letters and redrives", () => {
  let server: TestServer;
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-story-'));
  const env = { SILOPOOL_MAX_RECEIVES: '1' };

  beforeAll(async () => {
    server = await startTestServer({ dataDir, env });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const timeline = async (token: string, id: string) => {
    const res = await server.api(`/v1/jobs/${id}/timeline`, { token });
    expect(res.status).toBe(200);
    return (await res.json()) as { traceId: string; steps: Step[] };
  };

  it('moves with the job record on promotion and survives a restart', async () => {
    const tenant = newTenantId('mv');
    const { apiKey } = await server.createTenant(tenant);
    const { id } = await submit(server, apiKey, { revenue: 2_000_000 });
    expect((await waitForJob(server, apiKey, id)).status).toBe('succeeded');
    const before = await timeline(apiKey, id);
    expect(before.steps.map((s) => s.step)).toContain('stored');

    const move = await startMove(server, tenant, 'dedicated');
    expect((await waitForOperation(server, move.id)).status).toBe('succeeded');
    expect(await timeline(apiKey, id)).toEqual(before);

    await server.stop();
    server = await startTestServer({ dataDir, env });
    expect(await timeline(apiKey, id)).toEqual(before);
    const story = await server.api(`/v1/admin/tenants/${tenant}/jobs/${id}`, { token: server.operatorToken });
    const { spans } = (await story.json()) as { spans: { name: string; traceId: string }[] };
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['job.submit', 'job.deliver']));
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([before.traceId]));
  }, 90_000);

  it('tells a dead-lettered job, its redrive from the job and its second dead letter', async () => {
    const tenant = newTenantId('dl');
    const { apiKey } = await server.createTenant(tenant, {
      placement: 'dedicated',
      config: { function: { timeoutSec: 1 } },
    });
    const { id } = await submit(server, apiKey, LONG_FUNDS, {}, 'funds');
    const failed = await waitForJob(server, apiKey, id, { timeoutMs: 60_000 });
    expect(failed.error).toMatchObject({ code: 'dead_lettered' });

    const redrive = await server.api(`/v1/admin/tenants/${tenant}/jobs/${id}/redrive`, {
      method: 'POST',
      token: server.operatorToken,
    });
    expect(redrive.status).toBe(200);
    // A second redrive of the same job is refused: the first one moved it on.
    const again = await server.api(`/v1/admin/tenants/${tenant}/jobs/${id}/redrive`, {
      method: 'POST',
      token: server.operatorToken,
    });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe('not_dead_lettered');

    const deadline = Date.now() + 60_000;
    let steps: Step[] = [];
    while (Date.now() < deadline) {
      steps = (await timeline(apiKey, id)).steps;
      if (steps.filter((s) => s.step === 'dead_lettered').length === 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const names = steps.map((s) => s.step);
    expect(names.filter((s) => s === 'dead_lettered')).toHaveLength(2);
    const redriven = names.indexOf('redriven');
    expect(redriven).toBeGreaterThan(names.indexOf('dead_lettered'));
    expect(steps[redriven]).toMatchObject({ detail: expect.stringMatching(/^by /) });
    expect(names.lastIndexOf('dead_lettered')).toBeGreaterThan(redriven);
    // The dead letter went with the redrive: the queue's dead-letter queue holds only the second one.
    const letters = await server.api(`/v1/admin/dead-letters?queue=tenant_${tenant}_funds`, {
      token: server.operatorToken,
    });
    expect(((await letters.json()) as { items: unknown[] }).items).toHaveLength(1);
  }, 150_000);
});
