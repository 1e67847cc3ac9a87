import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteTenantDirectory } from '../../src/adapters/embedded/tenant-directory.ts';
import { listApiKeys, revokeApiKey } from '../../src/control/api-keys.ts';
import { updateTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// Authentication and tenant lookups are cached (issue 14). Every change must still count on the very next
// request: through the admin API, through the CLI (which goes through the server), and from another
// process writing the same SQLite file. Each test warms the caches first, so a stale entry would answer.
let server: TestServer;
let otherProcessDb: SqliteDatabase;
beforeAll(async () => {
  server = await startTestServer();
  // Another connection to the server's file: what any other process (a CLI without the server) writes through.
  otherProcessDb = openDatabase(join(server.dataDir, 'silopool.sqlite'));
});
afterAll(async () => {
  otherProcessDb?.close();
  await server?.stop();
});

const admin = (path: string, method: string, body?: unknown) =>
  server.api(path, {
    method,
    token: server.operatorToken,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });

async function warm(token: string, tenant?: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const res = await server.api('/v1/jobs', { token, ...(tenant ? { tenant } : {}) });
    expect(res.status).toBe(200);
  }
}

async function keyIdOf(id: string): Promise<string> {
  const res = await admin(`/v1/admin/tenants/${id}/api-keys`, 'GET');
  return ((await res.json()) as { items: { id: string }[] }).items[0]!.id;
}

describe('cached credentials and tenants follow every change at once', () => {
  it('a key revoked through the admin API fails on the next request', async () => {
    const id = newTenantId('rev');
    const { apiKey } = await server.createTenant(id);
    await warm(apiKey);
    expect((await admin(`/v1/admin/tenants/${id}/api-keys/${await keyIdOf(id)}`, 'DELETE')).status).toBe(204);
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(401);
  });

  it('a key rotated without grace fails on the next request; the new one works at once', async () => {
    const id = newTenantId('rot');
    const { apiKey } = await server.createTenant(id);
    await warm(apiKey);
    const rotated = await admin(`/v1/admin/tenants/${id}/api-keys/${await keyIdOf(id)}/rotate`, 'POST', {
      graceSeconds: 0,
    });
    expect(rotated.status).toBe(201);
    const { apiKey: fresh } = (await rotated.json()) as { apiKey: string };
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(401);
    expect((await server.api('/v1/jobs', { token: fresh })).status).toBe(200);
  });

  it('a key revoked by another process writing the database fails on the next request', async () => {
    const id = newTenantId('proc');
    const { apiKey } = await server.createTenant(id);
    await warm(apiKey);
    const directory = createSqliteTenantDirectory(otherProcessDb);
    const tenantId = parseTenantId(id);
    const [key] = await listApiKeys({ directory }, tenantId);
    await revokeApiKey({ directory }, tenantId, key!.id);
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(401);
  });

  it('a suspension (from the API or another process) refuses key and token holders at once, and lifting it lets them back', async () => {
    const id = newTenantId('pause');
    const { apiKey } = await server.createTenant(id);
    const token = await server.mintToken({ tenants: [id], user: 'ann' });
    await warm(apiKey);
    await warm(token, id);
    expect((await admin(`/v1/admin/tenants/${id}`, 'PATCH', { status: 'suspended' })).status).toBe(200);
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(403);
    expect((await server.api('/v1/jobs', { token, tenant: id })).status).toBe(403);
    expect((await admin(`/v1/admin/tenants/${id}`, 'PATCH', { status: 'active' })).status).toBe(200);
    await warm(apiKey);
    await warm(token, id);

    const directory = createSqliteTenantDirectory(otherProcessDb);
    await updateTenant(
      { directory, queue: undefined as never, stores: undefined as never },
      parseTenantId(id),
      { status: 'suspended' },
    );
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(403);
    expect((await server.api('/v1/jobs', { token, tenant: id })).status).toBe(403);
  });

  it('new settings apply to the very next submit', async () => {
    const id = newTenantId('set');
    const { apiKey } = await server.createTenant(id);
    const submit = () =>
      server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: JSON.stringify({ input: { years: 30 } }),
        headers: { 'content-type': 'application/json' },
      });
    expect((await submit()).status).toBe(202);
    expect((await submit()).status).toBe(202);
    const patched = await admin(`/v1/admin/tenants/${id}`, 'PATCH', {
      config: { limits: { models: { finance: { maxJobCost: 2 } } } },
    });
    expect(patched.status).toBe(200);
    const refused = await submit();
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { code?: string }).code).toBe('cost_limit_exceeded');
  });

  it('an offboarded tenant’s key and token stop at once', async () => {
    const id = newTenantId('gone');
    const { apiKey } = await server.createTenant(id);
    const token = await server.mintToken({ tenants: [id], user: 'bo' });
    await warm(apiKey);
    await warm(token, id);
    expect((await admin(`/v1/admin/tenants/${id}`, 'DELETE')).status).toBeLessThan(300);
    expect([401, 403]).toContain((await server.api('/v1/jobs', { token: apiKey })).status);
    expect((await server.api('/v1/jobs', { token, tenant: id })).status).toBe(403);
  });
});
