import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offboardTenant, pauseTenant } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// A job's event stream lives up to 5 minutes and carried the job (its status, its results' summary) to
// whoever opened it, checked once at the start: a key revoked, a tenant suspended meanwhile, and the stream
// went on delivering what the credential no longer grants. Revocation takes effect at once (issue 14's
// caches follow every change on the next request); a stream is a request that goes on, so each event it
// delivers is checked as a request would be.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const op = () => ({ token: server.operatorToken });

/** A tenant whose jobs wait (maxRunningJobs 0 pauses it) with one queued job, and a second key of its own. */
async function pausedTenant(id: string): Promise<{ streamKey: string; otherKey: string; jobId: string }> {
  const { apiKey } = await server.createTenant(id);
  await pauseTenant(server, id);
  const issued = await server.api(`/v1/admin/tenants/${id}/api-keys`, { method: 'POST', ...op() });
  expect(issued.status).toBe(201);
  const { apiKey: otherKey } = (await issued.json()) as { apiKey: string };
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: apiKey,
    body: '{"input":{"revenue":1000000,"years":5}}',
  });
  expect(res.status).toBe(202);
  return { streamKey: apiKey, otherKey, jobId: ((await res.json()) as { id: string }).id };
}

/** An open event stream: `until` reads it until `text` appears, `rest` reads it to its end (≤ 20 s). */
async function openStream(jobId: string, token: string) {
  const controller = new AbortController();
  const res = await server.api(`/v1/jobs/${jobId}/events`, { token, signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const readMore = async (deadline: number): Promise<boolean> => {
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - Date.now()));
    try {
      const { done, value } = await reader.read();
      if (value) text += decoder.decode(value, { stream: true });
      return !done;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async until(wanted: string): Promise<string> {
      const deadline = Date.now() + 10_000;
      while (!text.includes(wanted) && Date.now() < deadline && (await readMore(deadline))) {}
      return text;
    },
    async rest(): Promise<string> {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (await readMore(deadline))) {}
      return text;
    },
    close: () => controller.abort(),
  };
}

async function keyIds(id: string): Promise<string[]> {
  const res = await server.api(`/v1/admin/tenants/${id}/api-keys`, op());
  return ((await res.json()) as { items: { id: string; createdAt: string }[] }).items
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .map((k) => k.id);
}

const ACCESS_ENDED = 'event: reconnect\ndata: {"reason":"access_ended"}';

/** Opens the job's stream, waits for its queued status, runs `change`, and returns all the stream said. */
async function streamAround(jobId: string, token: string, change: () => Promise<unknown>): Promise<string> {
  const stream = await openStream(jobId, token);
  try {
    expect(await stream.until('"status":"queued"')).toContain('event: status');
    await change();
    return await stream.rest();
  } finally {
    stream.close();
  }
}

/** A stream cut off once access ended: it says so, and never shows the job's later cancellation. */
function expectCutOff(text: string): void {
  expect(text).not.toContain('"status":"cancelled"');
  expect(text).toContain(ACCESS_ENDED);
}

describe("a job's event stream delivers only what its credential still grants", () => {
  it('ends, without the job, once the key that opened it is revoked', async () => {
    const id = newTenantId('sse-rev');
    const { streamKey, otherKey, jobId } = await pausedTenant(id);
    const text = await streamAround(jobId, streamKey, async () => {
      const [first] = await keyIds(id);
      const revoked = await server.api(`/v1/admin/tenants/${id}/api-keys/${first}`, {
        method: 'DELETE',
        ...op(),
      });
      expect(revoked.status).toBe(204);
      // A change of the job after the revocation, made with the tenant's other key.
      const cancelled = await server.api(`/v1/jobs/${jobId}`, { method: 'DELETE', token: otherKey });
      expect(cancelled.status).toBeLessThan(300);
    });
    expectCutOff(text);
  }, 60_000);

  it('ends, without the job, once its tenant is suspended', async () => {
    const id = newTenantId('sse-sus');
    const { streamKey, jobId } = await pausedTenant(id);
    const text = await streamAround(jobId, streamKey, async () => {
      const suspended = await server.api(`/v1/admin/tenants/${id}`, {
        method: 'PATCH',
        ...op(),
        body: JSON.stringify({ status: 'suspended' }),
      });
      expect(suspended.status).toBe(200);
      // A change of the job after the suspension: an operator cancels it.
      const cancelled = await server.api(`/v1/admin/tenants/${id}/jobs/${jobId}/cancel`, {
        method: 'POST',
        ...op(),
      });
      expect(cancelled.status).toBe(200);
    });
    expectCutOff(text);
    // As a new stream of the same key is refused.
    expect((await server.api(`/v1/jobs/${jobId}/events`, { token: streamKey })).status).toBe(403);
  }, 60_000);
});

describe('a stream ends when its credential stops granting the tenant, and only then', () => {
  const cancelWith = (jobId: string, token: string) =>
    server.api(`/v1/jobs/${jobId}`, { method: 'DELETE', token });
  const rotate = (id: string, keyId: string, graceSeconds: number) =>
    server.api(`/v1/admin/tenants/${id}/api-keys/${keyId}/rotate`, {
      method: 'POST',
      ...op(),
      body: JSON.stringify({ graceSeconds }),
    });

  it('a key rotated with a grace period goes on streaming while the period lasts', async () => {
    const id = newTenantId('sse-grace');
    const { streamKey, otherKey, jobId } = await pausedTenant(id);
    const text = await streamAround(jobId, streamKey, async () => {
      const [first] = await keyIds(id);
      expect((await rotate(id, first!, 600)).status).toBe(201);
      expect((await cancelWith(jobId, otherKey)).status).toBeLessThan(300);
    });
    expect(text).toContain('"status":"cancelled"');
    expect(text).not.toContain('access_ended');
  }, 60_000);

  it('a key rotated without a grace period, or once its grace period ends, delivers nothing more', async () => {
    for (const grace of [0, 2]) {
      const id = newTenantId('sse-rot');
      const { streamKey, otherKey, jobId } = await pausedTenant(id);
      const text = await streamAround(jobId, streamKey, async () => {
        const [first] = await keyIds(id);
        expect((await rotate(id, first!, grace)).status).toBe(201);
        if (grace > 0) await new Promise((r) => setTimeout(r, grace * 1000 + 500));
        expect((await cancelWith(jobId, otherKey)).status).toBeLessThan(300);
      });
      expect({ grace, cancelled: text.includes('"status":"cancelled"') }).toEqual({
        grace,
        cancelled: false,
      });
      expect(text).toContain(ACCESS_ENDED);
    }
  }, 90_000);

  it('a user token that expires while its stream is open delivers nothing after its expiry', async () => {
    const id = newTenantId('sse-jwt');
    const { otherKey, jobId } = await pausedTenant(id);
    const token = await server.mintToken({ tenants: [id], user: 'ana@example.com', expiresIn: '3s' });
    const text = await streamAround(jobId, token, async () => {
      await new Promise((r) => setTimeout(r, 4_000));
      expect((await cancelWith(jobId, otherKey)).status).toBeLessThan(300);
    });
    expectCutOff(text);
  }, 60_000);

  it("an operator's stream of a tenant (x-tenant-id) stays open and gets the job's end", async () => {
    const id = newTenantId('sse-op');
    const { otherKey, jobId } = await pausedTenant(id);
    const token = await server.mintToken({ tenants: [id], user: 'ops@example.com', roles: ['operator'] });
    const controller = new AbortController();
    const res = await server.api(`/v1/jobs/${jobId}/events`, {
      token,
      tenant: id,
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reading = res.text();
    await new Promise((r) => setTimeout(r, 300));
    expect((await cancelWith(jobId, otherKey)).status).toBeLessThan(300);
    const timer = setTimeout(() => controller.abort(), 20_000);
    const text = await reading.finally(() => clearTimeout(timer));
    expect(text).toContain('"status":"cancelled"');
    expect(text).not.toContain('access_ended');
  }, 60_000);
});

describe('a stream of a long run, or of a tenant that goes away', () => {
  it("a running job's progress stops at the revocation of the key: no further status or result", async () => {
    const id = newTenantId('sse-prog');
    const { apiKey } = await server.createTenant(id, { plan: 'standard' });
    const submitted = await server.api('/v1/models/funds/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { simulations: 100_000, growthVolatility: 0.2, periodsPerYear: 4 } }),
    });
    expect(submitted.status).toBe(202);
    const { id: jobId } = (await submitted.json()) as { id: string };
    const stream = await openStream(jobId, apiKey);
    try {
      expect(await stream.until('event: progress')).toContain('event: progress');
      const [first] = await keyIds(id);
      const revoked = await server.api(`/v1/admin/tenants/${id}/api-keys/${first}`, {
        method: 'DELETE',
        ...op(),
      });
      expect(revoked.status).toBe(204);
      const text = await stream.rest();
      expect(text).not.toContain('"status":"succeeded"');
      expect(text).toContain(ACCESS_ENDED);
      const afterEnd = text.slice(text.indexOf('access_ended'));
      expect(afterEnd).not.toContain('event: progress');
    } finally {
      stream.close();
    }
  }, 90_000);

  it('a stream of a tenant offboarded (and onboarded again under its id) ends at its next heartbeat', async () => {
    const id = newTenantId('sse-off');
    const { jobId } = await pausedTenant(id);
    const token = await server.mintToken({ tenants: [id], user: 'ana@example.com' });
    const text = await streamAround(jobId, token, async () => {
      await offboardTenant(server, id);
      await server.createTenant(id);
    });
    expectCutOff(text);
  }, 90_000);
});
