import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConditionFailedError, ConflictError, ValidationError } from '../../src/core/errors.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { encodePageCursor } from '../../src/core/page-cursor.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { makeTenant, randomTenantId } from './fixtures.ts';

export type TenantDirectorySetup = () => Promise<{ port: TenantDirectory; teardown(): Promise<void> }>;

export function describeTenantDirectoryContract(adapterName: string, setup: TenantDirectorySetup): void {
  describe(`TenantDirectory contract: ${adapterName}`, () => {
    let ctx: Awaited<ReturnType<TenantDirectorySetup>>;
    let port: TenantDirectory;
    let id: TenantId;

    beforeEach(async () => {
      ctx = await setup();
      port = ctx.port;
      id = randomTenantId();
    });
    afterEach(async () => {
      await ctx.teardown();
    });

    it('creates and reads a tenant, and refuses a taken id', async () => {
      const tenant = makeTenant(id);
      await port.create(tenant);
      expect(await port.get(id)).toEqual(tenant);
      await expect(port.create(makeTenant(id, { name: 'Other' }))).rejects.toBeInstanceOf(ConflictError);
      expect((await port.get(id))?.name).toBe(tenant.name);
      expect(await port.get(`${id}-x` as TenantId)).toBeUndefined();
    });

    it('updates with compare-and-set, and exactly one of two racing writers wins', async () => {
      const tenant = makeTenant(id);
      await port.create(tenant);
      const stored = await port.update({ ...tenant, plan: 'enterprise' }, tenant.version);
      expect(stored).toMatchObject({ plan: 'enterprise', version: tenant.version + 1 });
      await expect(port.update({ ...tenant, plan: 'free' }, tenant.version)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      const results = await Promise.allSettled([
        port.update({ ...stored, placement: 'dedicated' }, stored.version),
        port.update({ ...stored, status: 'suspended' }, stored.version),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(ConditionFailedError);
      expect((await port.get(id))?.version).toBe(stored.version + 1);
    });

    it('pages through every tenant once', async () => {
      const ids = Array.from({ length: 7 }, (_, i) => `${id}-${i}` as TenantId);
      for (const tenantId of ids) await port.create(makeTenant(tenantId));
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const result = await port.list({ limit: 3, ...(cursor ? { cursor } : {}) });
        expect(result.items.length).toBeLessThanOrEqual(3);
        seen.push(...result.items.map((t) => t.id).filter((t) => t.startsWith(`${id}-`)));
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      expect([...seen].sort()).toEqual([...ids].sort());
    });

    // The embedded directory took a junk cursor as the id to list after, answering a partial page.
    it('refuses a cursor it did not make for this list, naming /querystring/cursor', async () => {
      await port.create(makeTenant(id));
      const junk = [
        'zzzz',
        Buffer.from('a').toString('base64url'),
        Buffer.from('TENANT#a').toString('base64url'),
        Buffer.from('{"pk":"TENANTS","sk":"TENANT#a"}').toString('base64url'),
        encodePageCursor('jobs', 'JOB#z'),
        'not a cursor!',
      ];
      for (const cursor of junk) {
        const refused = await port.list({ limit: 3, cursor }).catch((error: unknown) => error);
        expect(refused, cursor).toBeInstanceOf(ValidationError);
        expect((refused as ValidationError).problems[0]?.path).toBe('/querystring/cursor');
      }
    });

    it('records a key use without a new version, and never over a newer record', async () => {
      const key = { id: 'k1', hash: 'ab'.repeat(32), createdAt: new Date().toISOString() };
      const other = { ...key, id: 'k2' };
      const tenant = makeTenant(id, { apiKeys: [key, other], incarnation: 'inc-1' });
      await port.create(tenant);
      await port.touchApiKey(tenant, 'k1', '2030-01-02T03:04:00.000Z');
      const touched = await port.get(id);
      expect(touched?.version).toBe(tenant.version);
      expect(touched?.incarnation).toBe('inc-1');
      expect(touched?.apiKeys).toEqual([{ ...key, lastUsedAt: '2030-01-02T03:04:00.000Z' }, other]);
      // A compare-and-set writer that read before the touch still wins: the touch took no version.
      const revoked = await port.update({ ...tenant, apiKeys: [other] }, tenant.version);
      // A touch from a copy read before the revocation is dropped: the revoked key does not come back.
      await port.touchApiKey(tenant, 'k1', '2030-01-02T03:05:00.000Z');
      expect(await port.get(id)).toEqual(revoked);
      await port.touchApiKey(revoked, 'gone', '2030-01-02T03:06:00.000Z');
      expect(await port.get(id)).toEqual(revoked);
    });

    it('deletes a tenant', async () => {
      await port.create(makeTenant(id));
      await port.delete(id);
      expect(await port.get(id)).toBeUndefined();
      await port.create(makeTenant(id));
      expect(await port.get(id)).toBeDefined();
    });
  });
}
