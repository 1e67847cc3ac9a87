import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createEmbeddedStoreProvider } from '../../src/adapters/embedded/store-provider.ts';
import { toProblem } from '../../src/api/problem.ts';
import type { StoreRef } from '../../src/core/placement.ts';
import { scopeObjects } from '../../src/ports/object-store.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function provider(idleCloseMs: number, maxOpen?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-stores-'));
  const jobsDb = openDatabase(join(dir, 'jobs.sqlite'));
  const stores = createEmbeddedStoreProvider(dir, jobsDb, {
    idleCloseMs,
    ...(maxOpen !== undefined ? { maxOpen } : {}),
  });
  cleanups.push(async () => {
    await stores.close();
    jobsDb.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, stores };
}

/** Files under `dir` this process holds open now (real descriptors, from /proc). */
function openFilesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) files.push(target);
    } catch {
      // closed while we looked
    }
  }
  return files;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('embedded store provider: idle dedicated tenants hold no database', () => {
  it('provisioning creates and migrates the tenant database without keeping it open', async () => {
    const { dir, stores } = provider(60_000);
    const tenantId = randomTenantId();
    await stores.provision({ kind: 'dedicated', tenantId });
    expect(stores.refsOnDisk()).toContainEqual({ kind: 'dedicated', tenantId });
    expect(openFilesUnder(join(dir, 'tenants', tenantId))).toEqual([]);
  });

  it('a connection unused for the quiet period is closed; stores handed out before reopen it', async () => {
    const { dir, stores } = provider(100);
    const tenantId = randomTenantId();
    const ref: StoreRef = { kind: 'dedicated', tenantId };
    await stores.provision(ref);
    const jobs = stores.jobs(ref).forTenant(tenantId);
    const job = makeJob(tenantId);
    await jobs.create(job);
    const db = stores.database(ref);
    expect(db.open).toBe(true);
    await expect.poll(() => db.open, { timeout: 5000 }).toBe(false);
    expect(openFilesUnder(join(dir, 'tenants', tenantId))).toEqual([]);
    // The store obtained before the close works on a new connection, with the data written before.
    expect((await jobs.get(job.id))?.id).toBe(job.id);
    expect(stores.database(ref).open).toBe(true);
  });

  it('a connection in use stays open', async () => {
    const { stores } = provider(100);
    const tenantId = randomTenantId();
    const ref: StoreRef = { kind: 'dedicated', tenantId };
    await stores.provision(ref);
    const jobs = stores.jobs(ref).forTenant(tenantId);
    const db = stores.database(ref);
    for (let i = 0; i < 8; i++) {
      await sleep(40);
      await jobs.countItems();
    }
    expect(db.open).toBe(true);
  });

  it('a pass over every tenant keeps at most maxOpen databases open, never one handed out raw', async () => {
    const { dir, stores } = provider(60_000, 2);
    const ids = Array.from({ length: 6 }, () => randomTenantId());
    for (const tenantId of ids) await stores.provision({ kind: 'dedicated', tenantId });
    // Handed out raw (as to the submit's commit): a caller may still commit on it at the end of the turn.
    const raw = stores.database({ kind: 'dedicated', tenantId: ids[0]! });
    for (const tenantId of ids.slice(1)) {
      await stores.jobs({ kind: 'dedicated', tenantId }).forTenant(tenantId).countItems();
      expect(raw.open).toBe(true);
    }
    const open = new Set(openFilesUnder(join(dir, 'tenants')).map((f) => f.split('/').at(-2)));
    expect(open).toEqual(new Set([ids[0], ids.at(-1)]));
  });

  it("a tenant's store still checks its owner", async () => {
    const { stores } = provider(100);
    const tenantId = randomTenantId();
    await stores.provision({ kind: 'dedicated', tenantId });
    expect(() => stores.jobs({ kind: 'dedicated', tenantId }).forTenant('not a tenant id' as never)).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
    // Before it looks for the store: a store that is gone does not hide a bad owner.
    await stores.destroy({ kind: 'dedicated', tenantId });
    expect(() => stores.jobs({ kind: 'dedicated', tenantId }).forTenant('not a tenant id' as never)).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
  });
});

describe('embedded store provider: a removed or never provisioned store is not made by a read', () => {
  it('stores handed out before destroy fail with a typed error and leave no folder behind', async () => {
    const { dir, stores } = provider(60_000);
    const tenantId = randomTenantId();
    const ref: StoreRef = { kind: 'dedicated', tenantId };
    await stores.provision(ref);
    // Held as a handler or a route holds them while the tenant is demoted or offboarded.
    const jobs = stores.jobs(ref).forTenant(tenantId);
    const objects = scopeObjects(stores.objects(ref), tenantId);
    const job = makeJob(tenantId);
    await jobs.create(job);
    await objects.put('jobs/a/workbook.xlsx', new Uint8Array([1, 2, 3]), 'application/octet-stream');
    await stores.destroy(ref);
    const folder = join(dir, 'tenants', tenantId);
    expect(existsSync(folder)).toBe(false);

    const gone = { code: 'store_not_found', status: 503 };
    await expect(jobs.get(job.id)).rejects.toMatchObject(gone);
    await expect(jobs.countItems()).rejects.toMatchObject(gone);
    await expect(objects.get('jobs/a/workbook.xlsx')).rejects.toMatchObject(gone);
    await expect(objects.list()).rejects.toMatchObject(gone);
    // A write neither: a large object (a file, not a row) would make the folders before the row is written.
    await expect(
      objects.put('jobs/b/big.bin', new Uint8Array(2 * 1024 * 1024), 'application/octet-stream'),
    ).rejects.toMatchObject(gone);
    // Asked anew after the destroy, as the submit's commit and a route do.
    expect(() => stores.database(ref)).toThrow(expect.objectContaining(gone));
    await expect((async () => stores.jobs(ref).forTenant(tenantId).get(job.id))()).rejects.toMatchObject(
      gone,
    );
    await expect(stores.objects(ref).get(`tenants/${tenantId}/jobs/a/workbook.xlsx`)).rejects.toMatchObject(
      gone,
    );

    expect(existsSync(folder)).toBe(false);
    expect(stores.refsOnDisk()).not.toContainEqual(ref);
    // What an API user is answered where a request meets it: a 503 to send again, never a 500.
    const error = await jobs.get(job.id).catch((e: unknown) => e);
    expect(toProblem(error)).toMatchObject({ status: 503, code: 'store_not_found', tenantId });
  });

  it('a dedicated store never provisioned is not created by its first use; provisioning makes it usable', async () => {
    const { dir, stores } = provider(60_000);
    const tenantId = randomTenantId();
    const ref: StoreRef = { kind: 'dedicated', tenantId };
    await expect((async () => stores.jobs(ref).forTenant(tenantId).countItems())()).rejects.toMatchObject({
      code: 'store_not_found',
    });
    expect(existsSync(join(dir, 'tenants', tenantId))).toBe(false);
    await stores.provision(ref);
    expect(await stores.jobs(ref).forTenant(tenantId).countItems()).toBe(0);
  });
});
