import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishRelease } from '../releases/fixtures.ts';
import { failObjectWrites } from '../support/object-faults.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

/**
 * A platform error during a run (here: storing the workbook fails with a message in the OS's words, which
 * names the server's data directory) must not reach the tenant:
 * its job, timeline, log and event stream carry a stable code and a fixed sentence; operators still
 * see the raw cause in the admin job view.
 */
let server: TestServer;
let tenant: string;
let apiKey: string;
let jobId: string;

beforeAll(async () => {
  server = await startTestServer({
    env: { SILOPOOL_MAX_RECEIVES: '2', SILOPOOL_VISIBILITY_TIMEOUT_SEC: '2' },
  });
  tenant = newTenantId('leak');
  ({ apiKey } = await server.createTenant(tenant));
  // The raw cause names the data directory and an OS error, as a file system's would.
  failObjectWrites(
    server.dataDir,
    tenant,
    `ENOTDIR: not a directory, open '${server.dataDir}/objects/tenants/${tenant}'`,
  );
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: apiKey,
    body: '{"input":{}}',
  });
  jobId = ((await res.json()) as { id: string }).id;
  const failed = await waitForJob(server, apiKey, jobId, { timeoutMs: 30_000 });
  expect(failed.status).toBe('failed');
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** What would give the platform away: the data directory, the OS error's name, a stack frame. */
function expectNoInternals(text: string) {
  expect(text).not.toContain(server.dataDir);
  expect(text).not.toMatch(/ENOTDIR|EEXIST|ENOENT|EACCES/);
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toContain('"internal":');
}

describe('a failed attempt as its tenant sees it', () => {
  it('the job carries a stable code and a fixed sentence', async () => {
    const text = await (await server.api(`/v1/jobs/${jobId}`, { token: apiKey })).text();
    expectNoInternals(text);
    const job = JSON.parse(text) as { error: { code: string; message: string } };
    expect(job.error.code).toBe('retries_exhausted');
    expect(job.error.message).toContain('(internal)');
  });

  it('the timeline and the log say which attempt failed, not why inside the platform', async () => {
    const timeline = await (await server.api(`/v1/jobs/${jobId}/timeline`, { token: apiKey })).text();
    expectNoInternals(timeline);
    const steps = (JSON.parse(timeline) as { steps: { step: string; detail?: string }[] }).steps;
    expect(steps.find((s) => s.step === 'attempt_failed')?.detail).toMatch(/^internal: /);
    const logs = await (await server.api(`/v1/jobs/${jobId}/logs`, { token: apiKey })).text();
    expectNoInternals(logs);
    expect(logs).toContain('attempt failed');
  });

  it('the job list and the event stream do not leak it either', async () => {
    expectNoInternals(await (await server.api('/v1/jobs?limit=10', { token: apiKey })).text());
    const res = await server.api(`/v1/jobs/${jobId}/events`, {
      token: apiKey,
      headers: { accept: 'text/event-stream' },
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    expectNoInternals(new TextDecoder().decode(first.value));
  });

  it('operators see the raw cause', async () => {
    const res = await server.api(`/v1/admin/tenants/${tenant}/jobs/${jobId}`, {
      token: server.operatorToken,
    });
    const body = (await res.json()) as {
      timeline: { steps: { step: string; internal?: string }[] };
      logs: { internal?: string }[];
    };
    const failedAttempt = body.timeline.steps.find((s) => s.step === 'attempt_failed');
    expect(failedAttempt?.internal).toMatch(/ENOTDIR|EEXIST/);
    expect(body.logs.some((l) => /ENOTDIR|EEXIST/.test(l.internal ?? ''))).toBe(true);
  });
});

describe("an operator's action as the tenant sees it", () => {
  it("the timeline says an operator retried, not who (the operator's identity is for operators)", async () => {
    const carol = await server.mintToken({ tenants: [], user: 'ops-carol@example.com', roles: ['operator'] });
    const retried = await server.api(`/v1/admin/tenants/${tenant}/jobs/${jobId}/retry`, {
      method: 'POST',
      token: carol,
    });
    expect(retried.status, await retried.text()).toBe(200);
    const timeline = await (await server.api(`/v1/jobs/${jobId}/timeline`, { token: apiKey })).text();
    expect(timeline).toContain('"step":"retried"');
    expect(timeline).toContain('by an operator');
    expect(timeline).not.toContain('ops-carol');
    const admin = await (
      await server.api(`/v1/admin/tenants/${tenant}/jobs/${jobId}`, { token: server.operatorToken })
    ).text();
    expect(admin).toContain('by ops-carol@example.com');
  });
});

describe("a model's own TypeError as its tenant sees it", () => {
  it('the job fails with model_error and a fixed sentence; operators see the engine message', async () => {
    // A release whose finance model has a bug: the engine's words name the code, not the input.
    publishRelease(server.dataDir, 'rbug', {
      models: {
        finance: {
          version: '1.2.0',
          body: "version: '1.2.0', run: () => { const internals = undefined; return internals.secretField; }",
        },
      },
    });
    const owner = newTenantId('bug');
    const { apiKey: key } = await server.createTenant(owner);
    const pinned = await server.api(`/v1/admin/tenants/${owner}/pins`, {
      method: 'PUT',
      token: server.operatorToken,
      headers: { 'content-type': 'application/json' },
      body: '{"pins":{"finance":"1.2.0"}}',
    });
    expect(pinned.status, await pinned.text()).toBe(200);
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: key,
      body: '{"input":{}}',
    });
    const id = ((await res.json()) as { id: string }).id;
    const failed = await waitForJob(server, key, id, { timeoutMs: 30_000 });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'model_error' });
    for (const path of [`/v1/jobs/${id}`, `/v1/jobs/${id}/timeline`, `/v1/jobs/${id}/logs`, '/v1/jobs']) {
      const text = await (await server.api(path, { token: key })).text();
      expect(text, path).not.toMatch(/secretField|TypeError/);
    }
    const admin = await (
      await server.api(`/v1/admin/tenants/${owner}/jobs/${id}`, { token: server.operatorToken })
    ).text();
    expect(admin).toContain('secretField');
  });
});
