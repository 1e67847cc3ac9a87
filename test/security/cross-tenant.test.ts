import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// A tenant (its API key, its user's token) naming another tenant's things: job ids in paths, the same
// Idempotency-Key, `x-tenant-id`, `?tenant=` in query strings, artifact names that climb out of the job,
// event streams. Each answers as if the thing did not exist, or refuses, and reveals nothing of it.
let server: TestServer;
const victim = { id: '', key: '', job: '' };
const attacker = { id: '', key: '', token: '' };
const KEY = `shared-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  server = await startTestServer();
  victim.id = newTenantId('xv');
  victim.key = (await server.createTenant(victim.id)).apiKey;
  attacker.id = newTenantId('xa');
  attacker.key = (await server.createTenant(attacker.id)).apiKey;
  attacker.token = await server.mintToken({ tenants: [attacker.id], user: 'mallory' });
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: victim.key,
    headers: { 'idempotency-key': KEY, 'content-type': 'application/json' },
    body: '{"input":{"revenue":1234567}}',
  });
  expect(res.status).toBe(202);
  victim.job = ((await res.json()) as { id: string }).id;
  await waitForJob(server, victim.key, victim.job, { timeoutMs: 30_000 });
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** Whether an answer names the victim's things; a problem's `instance` only echoes the attacker's own URL. */
function leaks(raw: string): boolean {
  const text = raw.replace(/"instance":"[^"]*"/, '');
  return text.includes(victim.job) || text.includes(victim.id) || text.includes('1234567');
}

describe("another tenant's things", () => {
  it('job ids in every job path are a 404 that names nothing of the job', async () => {
    for (const cred of [attacker.key, attacker.token]) {
      for (const [method, path] of [
        ['GET', `/v1/jobs/${victim.job}`],
        ['GET', `/v1/jobs/${victim.job}/timeline`],
        ['GET', `/v1/jobs/${victim.job}/logs`],
        ['GET', `/v1/jobs/${victim.job}/events`],
        ['GET', `/v1/jobs/${victim.job}/artifacts/workbook.xlsx`],
        ['POST', `/v1/jobs/${victim.job}/cancel`],
      ] as const) {
        const res = await server.api(path, { method, token: cred });
        const text = await res.text();
        expect(res.status, `${method} ${path} ${text}`).toBe(404);
        expect(text.includes('1234567'), text).toBe(false);
      }
    }
  });

  it("the same Idempotency-Key makes the attacker's own job, never returns the victim's", async () => {
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: attacker.key,
      headers: { 'idempotency-key': KEY, 'content-type': 'application/json' },
      body: '{"input":{"revenue":7654321}}',
    });
    const text = await res.text();
    expect(res.status, text).toBe(202);
    const job = JSON.parse(text) as { id: string; tenantId: string };
    expect(job.id).not.toBe(victim.job);
    expect(job.tenantId).toBe(attacker.id);
    // And the victim's own retry still finds its own job.
    const again = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: victim.key,
      headers: { 'idempotency-key': KEY, 'content-type': 'application/json' },
      body: '{"input":{"revenue":1234567}}',
    });
    expect(((await again.json()) as { id: string }).id).toBe(victim.job);
  });

  it('x-tenant-id naming the victim is refused; ?tenant= and ?tenantId= never widen the credential', async () => {
    for (const cred of [attacker.key, attacker.token]) {
      const res = await server.api('/v1/jobs', { token: cred, headers: { 'x-tenant-id': victim.id } });
      expect(res.status).toBe(403);
      expect(leaks(await res.text())).toBe(false);
      for (const path of [
        `/v1/jobs?tenant=${victim.id}`,
        `/v1/jobs?tenantId=${victim.id}`,
        `/v1/billing/usage?tenant=${victim.id}`,
        `/v1/billing/statements?tenantId=${victim.id}`,
        `/v1/settings/webhook?tenant=${victim.id}`,
        `/v1/me/notifications?tenant=${victim.id}`,
      ]) {
        const r = await server.api(path, { token: cred });
        const text = await r.text();
        expect(leaks(text), `${path} ${r.status} ${text.slice(0, 300)}`).toBe(false);
      }
    }
  });

  it('artifact names cannot climb out of the job (path traversal)', async () => {
    for (const name of [
      '..%2F..%2F..%2Fsilopool.sqlite',
      '..%2Fworkbook.xlsx',
      '%2e%2e%2f%2e%2e%2foperator-token',
      `..%2F..%2F${victim.id}%2Fjobs%2F${victim.job}%2Fworkbook.xlsx`,
      'workbook.xlsx%00.txt',
    ]) {
      const res = await server.api(`/v1/jobs/${victim.job}/artifacts/${name}`, { token: victim.key });
      expect(res.status, name).toBe(404);
      const text = await res.text();
      expect(text).not.toContain(server.operatorToken);
    }
    // The real one still downloads.
    const ok = await server.api(`/v1/jobs/${victim.job}/artifacts/workbook.xlsx`, { token: victim.key });
    expect(ok.status).toBe(200);
  });

  it("the victim's job still reads back unchanged", async () => {
    const res = await server.api(`/v1/jobs/${victim.job}`, { token: victim.key });
    expect(((await res.json()) as { status: string }).status).toBe('succeeded');
  });
});
