import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// A 5xx is the platform's fault and its words were the operators' whoever asked: a tenant submitting a job
// while the releases folder was unreadable read the server's data path (`detail`, `path`, `errno`), and a
// damaged release pointer named its file. Tenants (an API key, a user's JWT) get the code and a fixed
// sentence; an authenticated operator still gets the path, and the log keeps the whole error.
let server: TestServer;
let tenant: { id: string; apiKey: string; jwt: string };
beforeAll(async () => {
  server = await startTestServer();
  const id = newTenantId('leak');
  const apiKey = (await server.createTenant(id)).apiKey;
  tenant = { id, apiKey, jwt: await server.mintToken({ tenants: [id], user: 'ann@example.com' }) };
});
afterAll(async () => {
  await server?.stop();
});

const releasesDir = () => join(server.dataDir, 'releases');

/** The tenant's ways in: a submit (API key and JWT) and the models list, each answered as problem+json. */
async function asTenant(): Promise<Response[]> {
  const submit = (token: string) =>
    server.api('/v1/models/finance/jobs', {
      token,
      tenant: tenant.id,
      method: 'POST',
      body: JSON.stringify({ input: {} }),
    });
  return [await submit(tenant.apiKey), await submit(tenant.jwt)];
}

/** `res` is a 503 `code` that says nothing of the server's files: no path, no errno, no details. */
async function expectSealed(res: Response, code: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(503);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(text).not.toContain(server.dataDir);
  expect(text).not.toMatch(/silopool-test-|ENOTDIR|current\.json|chmod|errno/);
  const body = JSON.parse(text) as Record<string, unknown>;
  expect(body).toMatchObject({ status: 503, code, type: `https://silopool.dev/problems/${code}` });
  expect(Object.keys(body).sort()).toEqual(['code', 'detail', 'instance', 'status', 'title', 'type']);
  expect(body.detail).toMatch(/try again later/i);
}

describe('a platform fault answered to a tenant', () => {
  it('releases_unreadable: the tenant reads the code, the operator the path, the log the whole error', async () => {
    rmSync(releasesDir(), { recursive: true, force: true });
    writeFileSync(releasesDir(), 'not a folder');
    try {
      for (const res of await asTenant()) await expectSealed(res, 'releases_unreadable');
      const op = await server.api('/v1/admin/releases', { token: server.operatorToken });
      expect(op.status).toBe(503);
      const body = (await op.json()) as { code: string; detail: string; path: string; errno: string };
      expect(body).toMatchObject({ code: 'releases_unreadable', path: releasesDir(), errno: 'ENOTDIR' });
      expect(body.detail).toContain(releasesDir());
      // What the tenant was not told is in the server's log, for the operator to find.
      expect(server.output()).toContain(releasesDir());
    } finally {
      rmSync(releasesDir(), { force: true });
    }
  });

  it('release_pointer_damaged: the tenant is not told which file', async () => {
    rmSync(releasesDir(), { recursive: true, force: true });
    const pointer = join(releasesDir(), 'current.json');
    mkdirSync(releasesDir(), { recursive: true });
    writeFileSync(pointer, '{ not json');
    try {
      for (const res of await asTenant()) await expectSealed(res, 'release_pointer_damaged');
      const op = await server.api('/v1/admin/releases/builtin', { token: server.operatorToken });
      const body = (await op.json()) as { code: string; detail: string; where: string };
      expect(op.status).toBe(503);
      expect(body).toMatchObject({ code: 'release_pointer_damaged', where: pointer });
      expect(body.detail).toContain(pointer);
    } finally {
      rmSync(releasesDir(), { recursive: true, force: true });
    }
    expect((await (await asTenant())[0]!).status).toBe(202);
  });
});
