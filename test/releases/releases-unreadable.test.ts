import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomTenantId } from '../contract/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// A releases folder that is there but cannot be read (permissions, a file where the folder belongs) was a
// bare 500 on every route that reads it: the releases list, one release, a rollout, a tenant's pins, and a
// tenant's submits. It is a 503 `releases_unreadable`; to an operator it names the path and what to change
// (a tenant reads the code alone: test/api/tenant-problem-leaks.test.ts).
let server: TestServer;
let tenant: { id: string; apiKey: string };
beforeAll(async () => {
  server = await startTestServer();
  const id = randomTenantId('unr');
  tenant = { id, apiKey: (await server.createTenant(id)).apiKey };
});
afterAll(async () => {
  await server?.stop();
});

const releasesDir = () => join(server.dataDir, 'releases');

async function expectUnreadable(res: Response, errno: string): Promise<void> {
  expect(res.status, `${res.url}: ${(await res.clone().text()).slice(0, 300)}`).toBe(503);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = (await res.json()) as { code: string; detail: string; path: string; errno: string };
  expect(body.code).toBe('releases_unreadable');
  if (res.url.includes('/v1/admin/')) {
    expect(body).toMatchObject({ path: releasesDir(), errno });
    expect(body.detail).toContain(releasesDir());
  } else expect(JSON.stringify(body)).not.toContain(releasesDir());
}

/** Every route that reads the releases folder, operator and tenant, answered while it is unreadable. */
async function everyRoute(): Promise<Response[]> {
  const op = { token: server.operatorToken };
  const asTenant = { token: tenant.apiKey, tenant: tenant.id };
  return [
    await server.api('/v1/admin/releases', op),
    await server.api('/v1/admin/releases/builtin', op),
    await server.api('/v1/admin/releases/builtin/rollout', { ...op, method: 'POST', body: '{}' }),
    await server.api(`/v1/admin/tenants/${tenant.id}/pins`, {
      ...op,
      method: 'PUT',
      body: JSON.stringify({ pins: { finance: '1.1.3' } }),
    }),
    await server.api('/v1/models/finance/jobs', {
      ...asTenant,
      method: 'POST',
      body: JSON.stringify({ input: {} }),
    }),
  ];
}

describe('a releases folder that cannot be read', () => {
  it('is a 503 releases_unreadable on every route that reads it (a file where the folder belongs)', async () => {
    // As root (the test containers), chmod 000 changes nothing: a file in the folder's place is a real fault
    // every user meets (ENOTDIR on the folder's entries, and on the pointer inside it).
    rmSync(releasesDir(), { recursive: true, force: true });
    writeFileSync(releasesDir(), 'not a folder');
    try {
      for (const res of await everyRoute()) await expectUnreadable(res, 'ENOTDIR');
      const detail = (
        (await (await server.api('/v1/admin/releases', { token: server.operatorToken })).json()) as {
          detail: string;
        }
      ).detail;
      expect(detail).toContain('make');
      expect(detail).toContain('a folder');
    } finally {
      rmSync(releasesDir(), { force: true });
    }
    // Mended: the list answers again, and no job was accepted meanwhile.
    expect((await server.api('/v1/admin/releases', { token: server.operatorToken })).status).toBe(200);
    const jobs = await server.api('/v1/jobs', { token: tenant.apiKey, tenant: tenant.id });
    expect(((await jobs.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)(
    'is a 503 naming chmod when the folder has no permissions',
    async () => {
      mkdirSync(releasesDir(), { recursive: true });
      chmodSync(releasesDir(), 0o000);
      try {
        const res = await server.api('/v1/admin/releases', { token: server.operatorToken });
        await expectUnreadable(res, 'EACCES');
      } finally {
        chmodSync(releasesDir(), 0o755);
      }
    },
  );
});
