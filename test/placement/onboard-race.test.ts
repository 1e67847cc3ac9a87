import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { submit } from './helpers.ts';

// Attacks on onboarding: the same id onboarded by several requests at once, and onboarded again while its
// offboarding runs. Each answer is a 201 or a 4xx problem+json (never a 500), exactly one onboarding wins,
// and the tenant that exists runs jobs.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const onboard = (id: string, placement: 'shared' | 'dedicated') =>
  server.api('/v1/admin/tenants', {
    method: 'POST',
    token: server.operatorToken,
    body: JSON.stringify({ id, name: `Tenant ${id}`, placement }),
  });

describe('onboarding races', () => {
  it.each(['shared', 'dedicated'] as const)(
    'five %s onboardings of one id at once: one 201, four 409',
    async (placement) => {
      const id = newTenantId('race');
      const answers = await Promise.all([1, 2, 3, 4, 5].map(() => onboard(id, placement)));
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 409, 409, 409, 409]);
      for (const r of answers.filter((a) => a.status === 409))
        expect(r.headers.get('content-type')).toContain('application/problem+json');
      const { apiKey } = (await answers.find((a) => a.status === 201)!.json()) as { apiKey: string };
      const job = await submit(server, apiKey, { revenue: 1000 });
      expect((await waitForJob(server, apiKey, job.id)).status).toBe('succeeded');
    },
    60_000,
  );

  it('onboarding an id again while its offboarding runs: a 4xx or a new tenant that runs jobs', async () => {
    const id = newTenantId('reoff');
    expect((await onboard(id, 'dedicated')).status).toBe(201);
    const [off, ...again] = await Promise.all([
      server.api(`/v1/admin/tenants/${id}/offboard`, { method: 'POST', token: server.operatorToken }),
      onboard(id, 'dedicated'),
      onboard(id, 'dedicated'),
    ]);
    expect(off!.status).toBeLessThan(300);
    for (const r of again) expect(r.status === 201 || (r.status >= 400 && r.status < 500)).toBe(true);
    // Refused while the offboarding runs, the answer says to wait for it (it said only "already exists").
    for (const r of again.filter((a) => a.status === 409))
      expect(((await r.clone().json()) as { detail: string }).detail).toMatch(/being offboarded/);
    // Once the offboarding is done, the id can be onboarded (or already was) and runs jobs.
    let apiKey: string | undefined;
    const won = again.find((r) => r.status === 201);
    if (won) apiKey = ((await won.json()) as { apiKey: string }).apiKey;
    const deadline = Date.now() + 30_000;
    while (!apiKey && Date.now() < deadline) {
      const r = await onboard(id, 'dedicated');
      if (r.status === 201) apiKey = ((await r.json()) as { apiKey: string }).apiKey;
      else await new Promise((res) => setTimeout(res, 300));
    }
    expect(apiKey).toBeDefined();
    const tenant = (await (
      await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })
    ).json()) as { status: string; placement: string };
    expect(tenant).toMatchObject({ status: 'active', placement: 'dedicated' });
    const job = await submit(server, apiKey!, { revenue: 1000 });
    expect((await waitForJob(server, apiKey!, job.id, { timeoutMs: 30_000 })).status).toBe('succeeded');
  }, 90_000);

  // A dedicated onboarding of an id already taken made that id's dedicated queues and store before the
  // directory refused it (409): a shared tenant then had dedicated queues and a tenants/<id> store nobody
  // used, and a refusal racing an offboarding made them again after the offboarding removed them.
  it('a dedicated onboarding of an id already taken makes nothing before its 409', async () => {
    const id = newTenantId('taken');
    expect((await onboard(id, 'shared')).status).toBe(201);
    const refused = await onboard(id, 'dedicated');
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('tenant_exists');
    expect(existsSync(join(server.dataDir, 'tenants', id))).toBe(false);
    const queues = (await (await server.api('/v1/admin/queues', { token: server.operatorToken })).json()) as {
      items: { queue: string }[];
    };
    expect(queues.items.map((q) => q.queue).filter((q) => q.includes(id))).toEqual([]);
  });
});
