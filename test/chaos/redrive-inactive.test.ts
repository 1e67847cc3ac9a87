import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

/**
 * "Redrive all" of a queue (`POST /v1/admin/dead-letters/redrive`) ran a suspended tenant's dead-lettered
 * jobs again (back to `queued`, their messages sent), where the one-job redrive and retry answer 409
 * `tenant_not_active`: a suspended tenant's work stays stopped, and an offboarding one's must not put
 * messages and results back while its data is exported and erased.
 */
// About 4 s of work in one process, against the dedicated function's 1 s limit: every delivery dies.
const LONG_FUNDS = { simulations: 100_000, periodsPerYear: 4, seed: 7 };

describe('redriving a queue with dead letters of a tenant that is not active', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SILOPOOL_MAX_RECEIVES: '1' } });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const op = (path: string, init: RequestInit = {}) =>
    server.api(path, { ...init, token: server.operatorToken });
  const jobOf = async (tenant: string, id: string) =>
    (
      (await (await op(`/v1/admin/tenants/${tenant}/jobs/${id}`)).json()) as {
        job: { status: string; error?: { code: string } };
      }
    ).job;

  it('keeps them in the dead-letter queue and their jobs failed; once active again they are redriven', async () => {
    const tenant = newTenantId('held');
    const { apiKey } = await server.createTenant(tenant, {
      placement: 'dedicated',
      config: { function: { timeoutSec: 1 } },
    });
    const submit = await server.api('/v1/models/funds/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: LONG_FUNDS }),
    });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    const failed = await waitForJob(server, apiKey, id, { timeoutMs: 60_000 });
    expect(failed.error).toMatchObject({ code: 'dead_lettered' });

    const suspend = await op(`/v1/admin/tenants/${tenant}`, {
      method: 'PATCH',
      body: JSON.stringify({ status: 'suspended' }),
    });
    expect(suspend.status).toBe(200);
    const queue = `tenant_${tenant}_funds`;
    const redrive = () =>
      op('/v1/admin/dead-letters/redrive', { method: 'POST', body: JSON.stringify({ queue }) });

    const held = await redrive();
    expect(held.status).toBe(200);
    expect(await held.json()).toEqual({ moved: 0, skipped: 1 });
    expect(await jobOf(tenant, id)).toMatchObject({ status: 'failed', error: { code: 'dead_lettered' } });
    // Still there, and visible at once for inspection.
    const letters = await op(`/v1/admin/dead-letters?queue=${queue}`);
    const items = ((await letters.json()) as { items: { body: string }[] }).items;
    expect(items.map((l) => (JSON.parse(l.body) as { jobId: string }).jobId)).toEqual([id]);

    const resume = await op(`/v1/admin/tenants/${tenant}`, {
      method: 'PATCH',
      body: JSON.stringify({ status: 'active' }),
    });
    expect(resume.status).toBe(200);
    const moved = await redrive();
    expect(await moved.json()).toEqual({ moved: 1 });
    expect((await jobOf(tenant, id)).status).not.toBe('failed');
  }, 90_000);
});
