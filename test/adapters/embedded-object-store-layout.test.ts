import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileObjectStore, removeStaleTempFiles } from '../../src/adapters/embedded/object-store.ts';
import { CorruptWriteError } from '../../src/core/errors.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { randomTenantId } from '../contract/fixtures.ts';

const writer = fileURLToPath(new URL('./object-writer.ts', import.meta.url));

let root: string;
let tenant: string;
let store: ObjectStore;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'silopool-layout-'));
  tenant = randomTenantId();
  store = createFileObjectStore(root, { blockingIo: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const text = (body: Uint8Array | undefined) => (body ? Buffer.from(body).toString('utf8') : undefined);

/** An object file as the previous release wrote it: a 256-byte header (content type), then the body. */
function writeOldLayout(key: string, body: string, contentType = 'text/plain'): string {
  const path = join(root, ...key.split('/')) + '~o';
  mkdirSync(join(path, '..'), { recursive: true });
  const header = Buffer.alloc(256);
  header.writeUInt16BE(contentType.length, 0);
  header.write(contentType, 2, 'ascii');
  writeFileSync(path, Buffer.concat([header, Buffer.from(body)]));
  return path;
}

describe('the file object store layout', () => {
  it("keeps a job's artifacts in the tenant's jobs folder, without a folder per job", async () => {
    await store.put(`tenants/${tenant}/jobs/j1/workbook.xlsx`, Buffer.from('one'), 'text/plain');
    await store.put(`tenants/${tenant}/jobs/j2/workbook.xlsx`, Buffer.from('two'), 'text/plain');
    expect(readdirSync(join(root, 'tenants', tenant, 'jobs')).sort()).toEqual([
      'j1~workbook.xlsx~o',
      'j2~workbook.xlsx~o',
    ]);
    expect((await store.list(`tenants/${tenant}/jobs/j1/`)).items).toEqual([
      { key: `tenants/${tenant}/jobs/j1/workbook.xlsx`, size: 3 },
    ]);
    expect((await store.list(`tenants/${tenant}/jobs/j`)).items.map((i) => i.key)).toEqual([
      `tenants/${tenant}/jobs/j1/workbook.xlsx`,
      `tenants/${tenant}/jobs/j2/workbook.xlsx`,
    ]);
  });

  it("keeps shorter keys in a folder per segment, so a tenant's objects stay inside its folder", async () => {
    for (const key of ['exports/op1.zip', `tenants/${tenant}/note`, `tenants/${tenant}/a/b`]) {
      await store.put(key, Buffer.from(key), 'text/plain');
    }
    expect(existsSync(join(root, 'exports', 'op1.zip~o'))).toBe(true);
    expect(readdirSync(join(root, 'tenants', tenant)).sort()).toEqual(['a~b~o', 'note~o']);
    expect((await store.list('')).items.map((i) => i.key)).toEqual([
      'exports/op1.zip',
      `tenants/${tenant}/a/b`,
      `tenants/${tenant}/note`,
    ]);
    expect((await store.list(`tenants/${tenant}/a/`)).items.map((i) => i.key)).toEqual([
      `tenants/${tenant}/a/b`,
    ]);
  });

  it('reads, lists, overwrites and deletes objects a data directory of the previous release holds', async () => {
    const key = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    const old = writeOldLayout(key, 'written by the last release');
    writeOldLayout(`tenants/${tenant}/jobs/j2/workbook.xlsx`, 'another');
    const fresh = createFileObjectStore(root);

    expect(text((await fresh.get(key))?.body)).toBe('written by the last release');
    expect((await fresh.get(key))?.contentType).toBe('text/plain');
    expect((await fresh.list(`tenants/${tenant}/`)).items).toEqual([
      { key, size: 'written by the last release'.length },
      { key: `tenants/${tenant}/jobs/j2/workbook.xlsx`, size: 7 },
    ]);

    await fresh.put(key, Buffer.from('retried'), 'text/csv');
    expect(existsSync(old)).toBe(false);
    expect(text((await fresh.get(key))?.body)).toBe('retried');
    expect((await fresh.list(`tenants/${tenant}/jobs/j1`)).items).toEqual([{ key, size: 7 }]);

    await fresh.delete(`tenants/${tenant}/jobs/j2/workbook.xlsx`);
    expect(await fresh.get(`tenants/${tenant}/jobs/j2/workbook.xlsx`)).toBeUndefined();
    expect((await fresh.list(`tenants/${tenant}/`)).items.map((i) => i.key)).toEqual([key]);
  });

  it('of a key in both layouts (a put killed before it removed the old copy), serves and lists the new one, and deletes both', async () => {
    const key = `tenants/${tenant}/jobs/j1/workbook.xlsx`;
    await store.put(key, Buffer.from('new'), 'text/plain');
    const old = writeOldLayout(key, 'stale, and longer');
    expect(text((await store.get(key))?.body)).toBe('new');
    expect(await store.list(`tenants/${tenant}/`)).toEqual({ items: [{ key, size: 3 }] });
    expect(await store.list(`tenants/${tenant}/`, { limit: 1 })).toEqual({ items: [{ key, size: 3 }] });
    await store.delete(key);
    expect(existsSync(old)).toBe(false);
    expect(await store.get(key)).toBeUndefined();
  });

  it('refuses with CorruptWriteError an object file shorter than its header (a power loss before writeback)', async () => {
    const jobs = join(root, 'tenants', tenant, 'jobs');
    mkdirSync(jobs, { recursive: true });
    writeFileSync(join(jobs, 'j1~workbook.xlsx~o'), '');
    await expect(store.get(`tenants/${tenant}/jobs/j1/workbook.xlsx`)).rejects.toBeInstanceOf(
      CorruptWriteError,
    );
  });

  it('never lists or serves the temp file a writer killed mid-put left, and removes it once stale', async () => {
    const jobs = join(root, 'tenants', tenant, 'jobs');
    mkdirSync(jobs, { recursive: true });
    writeFileSync(join(jobs, '0123456789abcdef~t'), 'half');
    expect((await store.list(`tenants/${tenant}/`)).items).toEqual([]);
    expect((await store.list('')).items).toEqual([]);
    expect(await removeStaleTempFiles(root, 0)).toBe(1);
  });

  it('after a writer is SIGKILLed in the middle of a put, lists only whole objects', async () => {
    const size = 16 * 1024 * 1024;
    const jobs = join(root, 'tenants', tenant, 'jobs');
    const child = spawn(process.execPath, ['--import', 'tsx', writer, root, tenant, String(size)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const done = new Set<string>();
    child.stdout.on('data', (chunk: Buffer) => {
      for (const n of chunk.toString().split('\n').filter(Boolean)) done.add(`j${n}~workbook.xlsx~o`);
    });
    // Killed once three puts resolved and a file of the next one shows: that put is in flight.
    for (;;) {
      expect(child.exitCode, 'the writer stopped before it was killed').toBeNull();
      const names = existsSync(jobs) ? readdirSync(jobs) : [];
      if (done.size >= 3 && names.some((name) => !done.has(name))) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    child.kill('SIGKILL');
    await exited;

    const reader = createFileObjectStore(root);
    const { items } = await reader.list(`tenants/${tenant}/`);
    expect(items.length).toBeGreaterThanOrEqual(3);
    for (const item of items) {
      expect(item.size).toBe(size);
      expect((await reader.get(item.key))?.body.every((b) => b === 7)).toBe(true);
    }
  });
});
