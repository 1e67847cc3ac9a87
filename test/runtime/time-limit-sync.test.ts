import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishRelease } from '../releases/fixtures.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// A function thread posts its reports to the host in batches, at the end of a turn of its event loop
// (issue 14). A model that runs synchronously in one piece (a release's code runs whole in the thread, never
// in the compute pool) holds that turn: the host must still hear of the claim before the run starts, or it
// could not enforce the job's time limit until the run had ended by itself.
let server: TestServer;
const tenant = { id: newTenantId('spin'), key: '' };

beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  publishRelease(server.dataDir, 'rspin', {
    models: {
      finance: {
        version: '1.2.0',
        body: "version: '1.2.0', run(input, rules, onProgress) { const end = Date.now() + (input.years === 7 ? 60000 : 0); while (Date.now() < end); return base.run(input, rules, onProgress); }",
      },
    },
  });
  writeFileSync(join(server.dataDir, 'releases', 'current.json'), JSON.stringify({ id: 'rspin' }));
  tenant.key = (await server.createTenant(tenant.id, { plan: 'standard' })).apiKey;
  const patched = await server.api(`/v1/admin/tenants/${tenant.id}`, {
    method: 'PATCH',
    token: server.operatorToken,
    body: JSON.stringify({ config: { limits: { jobTimeoutSec: 1 } } }),
  });
  expect(patched.status).toBe(200);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('a synchronous model run on a function thread', () => {
  it('is stopped at its time limit, not when it ends by itself', async () => {
    // Jobs queued before it: the thread claims the spinning one right after it deletes the one before, in
    // the same turn of its event loop, as a thread with a backlog does.
    const submit = async (years: number) => {
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: tenant.key,
        body: JSON.stringify({ input: { years } }),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };
    const warm = await submit(5);
    expect((await waitForJob(server, tenant.key, warm)).status).toBe('succeeded');
    const before = [await submit(5), await submit(6), await submit(5), await submit(6)];
    const id = await submit(7);
    // This run spins for 60 s; its limit is 1 s.
    const job = await waitForJob(server, tenant.key, id, { timeoutMs: 30_000 });
    expect(job.status).toBe('failed');
    expect((job.error as { code: string }).code).toBe('timeout');
    for (const other of before)
      expect((await waitForJob(server, tenant.key, other)).status).toBe('succeeded');
  }, 60_000);
});
