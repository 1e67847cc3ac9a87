import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TenantId } from '../../src/core/ids.ts';
import { type ObjectStore, scopeObjects, tenantPrefix } from '../../src/ports/object-store.ts';
import { randomTenantId } from './fixtures.ts';

export type ObjectStoreSetup = () => Promise<{ port: ObjectStore; teardown(): Promise<void> }>;

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (body: Uint8Array | undefined): string | undefined =>
  body ? new TextDecoder().decode(body) : undefined;

export function describeObjectStoreContract(adapterName: string, setup: ObjectStoreSetup): void {
  describe(`ObjectStore contract: ${adapterName}`, () => {
    let ctx: Awaited<ReturnType<ObjectStoreSetup>>;
    let port: ObjectStore;
    let tenantId: TenantId;
    /** Every test writes under its own random tenant root, so one bucket can serve every test. */
    let root: string;

    beforeEach(async () => {
      ctx = await setup();
      port = ctx.port;
      tenantId = randomTenantId();
      root = tenantPrefix(tenantId);
    });
    afterEach(async () => {
      await ctx.teardown();
    });

    async function listAll(store: ObjectStore, prefix: string, limit: number): Promise<string[]> {
      const keys: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const result = await store.list(prefix, { limit, ...(cursor ? { cursor } : {}) });
        expect(result.items.length).toBeLessThanOrEqual(limit);
        keys.push(...result.items.map((i) => i.key));
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      return keys;
    }

    it('puts, gets with content type and size, and overwrites', async () => {
      await port.put(`${root}jobs/j1/result.xlsx`, bytes('first'), 'application/octet-stream');
      await port.put(`${root}jobs/j1/result.xlsx`, bytes('second!'), 'text/plain');
      const got = await port.get(`${root}jobs/j1/result.xlsx`);
      expect(got).toMatchObject({ contentType: 'text/plain', size: 7 });
      expect(text(got?.body)).toBe('second!');
      expect(await port.get(`${root}jobs/missing`)).toBeUndefined();
    });

    it('stores binary bodies byte for byte, including an empty one', async () => {
      const body = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
      await port.put(`${root}bin`, body, 'application/octet-stream');
      await port.put(`${root}empty`, new Uint8Array(0), 'application/octet-stream');
      expect((await port.get(`${root}bin`))?.body).toEqual(body);
      expect((await port.get(`${root}empty`))?.size).toBe(0);
    });

    it('lists by prefix in key order and pages through with the cursor', async () => {
      const keys = ['a', 'a.b', 'a/b', 'a/c/d', 'b/x', 'ab', 'c'].map((k) => root + k);
      for (const key of [...keys].reverse()) await port.put(key, bytes(key), 'text/plain');
      const sorted = [...keys].sort();
      expect(await listAll(port, root, 1000)).toEqual(sorted);
      expect(await listAll(port, root, 2)).toEqual(sorted);
      expect(await listAll(port, `${root}a`, 3)).toEqual(sorted.filter((k) => k.startsWith(`${root}a`)));
      expect(await listAll(port, `${root}a/`, 1)).toEqual([`${root}a/b`, `${root}a/c/d`]);
      expect((await port.list(`${root}a/b`)).items).toEqual([
        { key: `${root}a/b`, size: `${root}a/b`.length },
      ]);
      expect((await port.list(`${root}zzz`)).items).toEqual([]);
    });

    it('deletes, and deleting a missing key is fine', async () => {
      await port.put(`${root}gone`, bytes('x'), 'text/plain');
      await port.delete(`${root}gone`);
      expect(await port.get(`${root}gone`)).toBeUndefined();
      expect((await port.list(root)).items).toEqual([]);
      await port.delete(`${root}gone`);
    });

    it('scopes a tenant view to tenants/{id}/', async () => {
      const view = scopeObjects(port, tenantId);
      await view.put('jobs/j1/out.xlsx', bytes('mine'), 'text/plain');
      expect(text((await port.get(`${root}jobs/j1/out.xlsx`))?.body)).toBe('mine');
      expect((await view.list()).items).toEqual([{ key: 'jobs/j1/out.xlsx', size: 4 }]);
      expect((await view.list('jobs/')).items.map((i) => i.key)).toEqual(['jobs/j1/out.xlsx']);
      await view.delete('jobs/j1/out.xlsx');
      expect(await view.get('jobs/j1/out.xlsx')).toBeUndefined();
    });

    it('keeps tenant a1 out of a1-x, whatever the key', async () => {
      const other = `${tenantId}-x` as TenantId;
      const mine = scopeObjects(port, tenantId);
      const theirs = scopeObjects(port, other);
      await theirs.put('secret.txt', bytes('theirs'), 'text/plain');
      await theirs.put('jobs/j9/out.xlsx', bytes('theirs'), 'text/plain');
      await mine.put('own.txt', bytes('mine'), 'text/plain');

      const tricks = [
        `../${other}/secret.txt`,
        `/${tenantPrefix(other)}secret.txt`,
        `${tenantPrefix(other)}secret.txt`,
        `./../${other}/secret.txt`,
        `jobs/../../${other}/secret.txt`,
        `-x/secret.txt`,
        '..',
        '',
      ];
      for (const key of tricks) {
        const got = await mine.get(key).catch(() => undefined);
        expect(text(got?.body), key).not.toBe('theirs');
        await mine.put(key, bytes('overwrite'), 'text/plain').catch(() => undefined);
        await mine.delete(key).catch(() => undefined);
        const listed = await mine.list(key).catch(() => ({ items: [] }));
        for (const item of listed.items) expect(item.key, key).toBe('own.txt');
      }
      expect((await mine.list()).items.map((i) => i.key)).toEqual(['own.txt']);

      // A cursor pointing into a1-x's keys, forged or taken from a1-x's own list, reaches nothing there.
      const theirPage = await theirs.list('', { limit: 1 });
      const forged = [theirPage.nextCursor, Buffer.from(`${tenantPrefix(other)}a`).toString('base64url')];
      for (const cursor of forged) {
        if (!cursor) continue;
        const page = await mine.list('', { cursor }).catch(() => ({ items: [] }));
        for (const item of page.items) expect(item.key).toBe('own.txt');
      }
      expect(text((await theirs.get('secret.txt'))?.body)).toBe('theirs');
      expect((await theirs.list()).items.map((i) => i.key)).toEqual(['jobs/j9/out.xlsx', 'secret.txt']);
    });
  });
}
