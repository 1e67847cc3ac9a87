import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedicatedBucketName, dedicatedTableName, tenantStackName } from '../../src/adapters/aws/naming.ts';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createEmbeddedStoreProvider } from '../../src/adapters/embedded/store-provider.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { dedicatedQueueName } from '../../src/core/placement.ts';
import { tenantPrefix } from '../../src/ports/object-store.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

/**
 * A tenant id is a compile-time brand; a tenant record read back from storage is trusted as it is. An id
 * changed behind the API (`../../x`) must not become a path, a queue, a table, a bucket, a stack or an
 * object prefix: every sink that builds a name from a tenant id checks it first.
 */
const CRAFTED = ['../../escape', 'a/b', 'acme#1', 'ACME', '', 'a', `${'a'.repeat(64)}`, 'acme_x', 'a\nb'];

describe('names built from a tenant id', () => {
  it('refuse an id that is no tenant id, whatever stored it', () => {
    for (const id of CRAFTED as TenantId[]) {
      for (const name of [
        () => dedicatedQueueName(id, 'finance'),
        () => dedicatedTableName(id),
        () => dedicatedBucketName(id, '123456789012', 'eu-west-1'),
        () => tenantStackName(id),
        () => tenantPrefix(id),
      ]) {
        expect(name, JSON.stringify(id)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
      }
    }
    expect(tenantPrefix('acme' as TenantId)).toBe('tenants/acme/');
  });

  it("the embedded store opens a dedicated tenant's database and folder only under DATA_DIR/tenants", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-ids-'));
    const escaped = join(dataDir, '..', `${relative(tmpdir(), dataDir)}-escaped`);
    const shared = openDatabase(join(dataDir, 'jobs.sqlite'));
    const stores = createEmbeddedStoreProvider(dataDir, shared);
    try {
      const tenantId = relative(join(dataDir, 'tenants'), escaped) as TenantId;
      const ref = { kind: 'dedicated', tenantId } as const;
      expect(() => stores.jobs(ref).forTenant('acme' as TenantId)).toThrow();
      expect(() => stores.objects(ref)).toThrow();
      await expect(stores.provision(ref)).rejects.toThrow();
      expect(existsSync(escaped)).toBe(false);
    } finally {
      await stores.close();
      shared.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(escaped, { recursive: true, force: true });
    }
  });
});

describe('a dedicated tenant whose stored record names a crafted id', () => {
  let server: TestServer;
  const outside = mkdtempSync(join(tmpdir(), 'silopool-escape-'));
  const target = join(outside, 'created-here');

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(outside, { recursive: true, force: true });
  });

  it('gets a problem answer; nothing is created outside DATA_DIR/tenants', async () => {
    const id = newTenantId('dd');
    const { apiKey } = await server.createTenant(id, { placement: 'dedicated' });
    const db = new Database(join(server.dataDir, 'silopool.sqlite'), { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      const { doc } = db.prepare('SELECT doc FROM tenants WHERE id = ?').get(id) as { doc: string };
      const crafted = relative(join(server.dataDir, 'tenants'), target);
      expect(crafted.startsWith('..')).toBe(true);
      db.prepare('UPDATE tenants SET doc = ? WHERE id = ?').run(
        JSON.stringify({ ...(JSON.parse(doc) as object), id: crafted }),
        id,
      );
      // The directory's caches follow its generation, as they do for any change behind their back.
      db.prepare('UPDATE tenant_generation SET n = n + 1 WHERE k = 0').run();
    } finally {
      db.close();
    }
    for (const [path, init] of [
      ['/v1/jobs', {}],
      ['/v1/models/finance/jobs', { method: 'POST', body: '{"input":{}}' }],
    ] as const) {
      const res = await server.api(path, { token: apiKey, ...init });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    expect(existsSync(target)).toBe(false);

    // The record is no tenant: loops over every tenant (limits, dedicated lanes) go on past it.
    const later = `zz-${id}`;
    const other = await server.createTenant(later, { placement: 'dedicated' });
    const submitted = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: other.apiKey,
      body: '{"input":{}}',
    });
    expect(submitted.status).toBe(202);
    const job = (await submitted.json()) as { id: string };
    expect((await waitForJob(server, other.apiKey, job.id, { timeoutMs: 30_000 })).status).toBe('succeeded');
    expect(existsSync(target)).toBe(false);
  }, 60_000);
});
