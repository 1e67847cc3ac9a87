import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileObjectStore } from '../../src/adapters/embedded/object-store.ts';
import { StorageFullError } from '../../src/core/errors.ts';

/** A real 1 MB filesystem; mounting needs root (CI has it). Where it cannot mount, the suite is skipped. */
function mountSmallTmpfs(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

const mounted = mountSmallTmpfs();
const canMountTmpfs = mounted !== undefined;

afterAll(() => {
  if (!mounted) return;
  execFileSync('umount', [mounted]);
  rmSync(mounted, { recursive: true, force: true });
});

describe.skipIf(!canMountTmpfs)('the file object store on a full disk (tmpfs of 1 MB)', () => {
  it.each([false, true])(
    'refuses a put that does not fit with StorageFullError, publishing nothing, and stores it whole once there is room (blocking calls: %s)',
    async (blockingIo) => {
      const root = join(mounted!, `objects-${blockingIo}`);
      const store = createFileObjectStore(root, { fsync: true, blockingIo });
      // Leave about 64 KB free: the case, where a put of 200,000 bytes stored 65,280.
      const filler = join(mounted!, 'filler');
      const free = () => {
        const s = statfsSync(mounted!);
        return s.bavail * s.bsize;
      };
      writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 64 * 1024)));
      expect(free()).toBeLessThan(100_000);

      const body = new Uint8Array(randomBytes(200_000));
      const put = store.put('tenants/t-a/jobs/j1/workbook.xlsx', body, 'application/octet-stream');
      await expect(put).rejects.toBeInstanceOf(StorageFullError);
      await expect(put).rejects.toMatchObject({ code: 'storage_full', status: 507 });
      expect(await store.get('tenants/t-a/jobs/j1/workbook.xlsx')).toBeUndefined();
      expect((await store.list('tenants/')).items).toEqual([]);
      // No half-written temp file is left to fill the disk further.
      expect(readdirSync(join(root, 'tenants', 't-a', 'jobs'))).toEqual([]);

      rmSync(filler);
      await store.put('tenants/t-a/jobs/j1/workbook.xlsx', body, 'application/octet-stream');
      const stored = await store.get('tenants/t-a/jobs/j1/workbook.xlsx');
      expect(stored?.size).toBe(body.byteLength);
      expect(Buffer.from(stored!.body).equals(Buffer.from(body))).toBe(true);
    },
  );
});
