import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// The reported case: 100,000 paths × 30 years × quarterly, cost 30 × 4 × 100,001 / 12 = 1,000,010 units.
const HUGE_FUNDS = {
  simulations: 100_000,
  fundLifeYears: 30,
  periodsPerYear: 4,
  growthVolatility: 0.2,
  seed: 7,
};
const HUGE_COST = 1_000_010;

let server: TestServer;
const tenants = {
  free: { id: newTenantId('free'), key: '' },
  paused: { id: newTenantId('paused'), key: '' },
  slow: { id: newTenantId('slow'), key: '' },
  tiny: { id: newTenantId('tiny'), key: '' },
};

async function patchLimits(id: string, limits: Record<string, unknown>): Promise<Response> {
  return server.api(`/v1/admin/tenants/${id}`, {
    method: 'PATCH',
    token: server.operatorToken,
    body: JSON.stringify({ config: { limits } }),
  });
}

async function submit(key: string, model: string, input: Record<string, unknown>): Promise<Response> {
  return server.api(`/v1/models/${model}/jobs`, {
    method: 'POST',
    token: key,
    body: JSON.stringify({ input }),
  });
}

async function submitted(key: string, model: string, input: Record<string, unknown>): Promise<string> {
  const res = await submit(key, model, input);
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** Compute-pool processes of the server (they run the parts of big simulations). */
function computeProcesses(): number {
  try {
    return execFileSync('ps', ['-o', 'args=', '--ppid', String(server.process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('compute-process')).length;
  } catch {
    return 0; // ps exits 1 when the server has no child processes at that moment
  }
}

beforeAll(async () => {
  // One shared thread: another tenant's job can only run once the thread held by the long job is freed.
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  tenants.free.key = (await server.createTenant(tenants.free.id, { plan: 'free' })).apiKey;
  tenants.paused.key = (await server.createTenant(tenants.paused.id, { plan: 'free' })).apiKey;
  tenants.slow.key = (await server.createTenant(tenants.slow.id, { plan: 'standard' })).apiKey;
  tenants.tiny.key = (await server.createTenant(tenants.tiny.id, { plan: 'free' })).apiKey;
  // The admin API refreshes the function host's limits before it answers.
  expect((await patchLimits(tenants.slow.id, { jobTimeoutSec: 1 })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('cost ceiling at submit', () => {
  it("refuses a free-plan tenant's huge funds job with 422, naming the ceiling and the fields that drive the cost", async () => {
    const { key } = tenants.free;
    const res = await submit(key, 'funds', HUGE_FUNDS);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as {
      code: string;
      detail: string;
      cost: number;
      maxJobCost: number;
      model: string;
      errors: { path: string; message: string }[];
    };
    expect(problem).toMatchObject({
      code: 'cost_limit_exceeded',
      model: 'funds',
      cost: HUGE_COST,
      maxJobCost: 150_000,
    });
    expect(problem.errors.map((e) => e.path)).toEqual([
      '/input/simulations',
      '/input/fundLifeYears',
      '/input/periodsPerYear',
    ]);
    expect(problem.errors[0]!.message).toContain('100000');
    expect(problem.detail).toContain('1,000,010');
    expect(problem.detail).toContain('150,000');
    // Nothing was recorded or queued.
    const jobs = (await (await server.api('/v1/jobs', { token: key })).json()) as { items: unknown[] };
    expect(jobs.items).toEqual([]);

    // A job within the ceiling is accepted and runs; so is any finance job.
    const within = await submitted(key, 'funds', { simulations: 1000, periodsPerYear: 4 });
    expect((await waitForJob(server, key, within, { timeoutMs: 60_000 })).status).toBe('succeeded');
  }, 90_000);

  it('shows the tenant its ceilings per model, and an operator may raise one model’s', async () => {
    const { id, key } = tenants.paused;
    const models = async () =>
      (
        (await (await server.api('/v1/models', { token: key })).json()) as {
          items: {
            name: string;
            limits: { maxJobCost: number; jobTimeoutSec: number; costFields: string[] };
          }[];
        }
      ).items;
    const before = await models();
    expect(before.find((m) => m.name === 'funds')!.limits).toEqual({
      maxJobCost: 150_000,
      jobTimeoutSec: 30,
      costFields: ['/input/simulations', '/input/fundLifeYears', '/input/periodsPerYear'],
    });

    // Paused, so the admitted job stays queued and is cancelled below instead of running.
    const raised = await patchLimits(id, { maxRunningJobs: 0, models: { funds: { maxJobCost: 2_000_000 } } });
    expect(raised.status).toBe(200);
    const funds = (await (await server.api('/v1/models/funds', { token: key })).json()) as {
      limits: { maxJobCost: number };
    };
    expect(funds.limits.maxJobCost).toBe(2_000_000);
    expect((await models()).find((m) => m.name === 'finance')!.limits.maxJobCost).toBe(150_000);
    const jobId = await submitted(key, 'funds', HUGE_FUNDS);
    const job = (await (await server.api(`/v1/jobs/${jobId}`, { token: key })).json()) as { status: string };
    expect(job.status).toBe('queued');
    expect((await server.api(`/v1/jobs/${jobId}`, { method: 'DELETE', token: key })).status).toBe(200);
  });

  it('refuses per-job limits outside their range, and limits for a model that does not exist', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ jobTimeoutSec: 0 }, '/config/limits/jobTimeoutSec'],
      [{ jobTimeoutSec: 901 }, '/config/limits/jobTimeoutSec'],
      [{ maxJobCost: -1 }, '/config/limits/maxJobCost'],
      [{ models: { funds: { jobTimeoutSec: 1.5 } } }, '/config/limits/models/funds/jobTimeoutSec'],
      [{ models: { funds: { weight: 2 } } }, '/config/limits/models/funds/weight'],
      [{ models: { nope: { maxJobCost: 5 } } }, '/config/limits/models/nope'],
    ];
    for (const [limits, path] of cases) {
      const res = await patchLimits(tenants.paused.id, limits);
      expect(res.status, JSON.stringify(limits)).toBe(400);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((e) => e.path)).toContain(path);
    }
  });
});

describe('time limit on the shared pool', () => {
  it('stops a job past its limit (failed, timeout, not retried) and frees the thread for another tenant', async () => {
    const slowId = await submitted(tenants.slow.key, 'funds', HUGE_FUNDS);
    // The other tenant's small job arrives while the long one holds the only thread.
    for (let i = 0; i < 200; i++) {
      const job = (await (await server.api(`/v1/jobs/${slowId}`, { token: tenants.slow.key })).json()) as {
        status: string;
      };
      if (job.status !== 'queued') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tinyId = await submitted(tenants.tiny.key, 'finance', {});

    const slow = await waitForJob(server, tenants.slow.key, slowId, { timeoutMs: 60_000 });
    expect(slow.status).toBe('failed');
    const error = slow.error as { code: string; message: string };
    expect(error.code).toBe('timeout');
    expect(error.message).toContain('time limit of 1 s');
    expect(error.message).toContain('not retried');
    expect(error.message).toContain('/input/simulations');
    expect(slow.attempts).toBe(1);

    // Its parts in the compute pool were killed with it, not left running to the end.
    let left = computeProcesses();
    for (let i = 0; i < 60 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = computeProcesses();
    }
    expect(left).toBe(0);

    const tiny = await waitForJob(server, tenants.tiny.key, tinyId, { timeoutMs: 60_000 });
    expect(tiny.status).toBe('succeeded');
    // It waited for the thread, and ran as soon as the stopped job had freed it (a generous bound).
    expect(Date.parse(String(tiny.startedAt))).toBeGreaterThanOrEqual(Date.parse(String(slow.startedAt)));
    expect(Date.parse(String(tiny.finishedAt)) - Date.parse(String(slow.finishedAt))).toBeLessThan(15_000);

    // Not retried: the message is gone, the job stays as it was settled.
    await new Promise((r) => setTimeout(r, 2500));
    const later = (await (await server.api(`/v1/jobs/${slowId}`, { token: tenants.slow.key })).json()) as {
      status: string;
      attempts: number;
      updatedAt: string;
    };
    expect(later).toMatchObject({ status: 'failed', attempts: 1, updatedAt: slow.updatedAt });
  }, 120_000);

  it('keeps working with the replaced thread: the following jobs all succeed', async () => {
    const { key } = tenants.tiny;
    const ids = [
      ...(await Promise.all([0, 1, 2].map((i) => submitted(key, 'finance', { years: 3 + i })))),
      ...(await Promise.all([0, 1].map((i) => submitted(key, 'funds', { seed: i })))),
    ];
    for (const jobId of ids) {
      expect((await waitForJob(server, key, jobId, { timeoutMs: 60_000 })).status).toBe('succeeded');
    }
  }, 120_000);
});
