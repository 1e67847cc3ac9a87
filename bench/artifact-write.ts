/**
 * The physical floor of storing a job's workbook on the embedded backend (issue 14): CPU time (user and
 * system, this process) per object `put` of the file object store, with blocking calls as function threads
 * make them, for a small (41 KB) and a large (114 KB) finance workbook's size; and, as the floor under
 * that, the bare system calls of one new file written and renamed into a folder made for it (the store's
 * layout: `jobs/{id}/result.xlsx`) and into one shared folder. Reports core-ms per write.
 * `npx tsx bench/artifact-write.ts` (not part of `npm run bench`: it measures the file system).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileObjectStore } from '../src/adapters/embedded/object-store.ts';

const WRITES = 2000;

function cpu<T>(fn: () => T): { result: T; userMs: number; systemMs: number } {
  const before = process.cpuUsage();
  const result = fn();
  const { user, system } = process.cpuUsage(before);
  return { result, userMs: user / 1000, systemMs: system / 1000 };
}

async function storePuts(size: number): Promise<{ userMs: number; systemMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-bench-artifact-'));
  try {
    const store = createFileObjectStore(dir, { fsync: false, blockingIo: true });
    const body = randomBytes(size);
    const before = process.cpuUsage();
    for (let i = 0; i < WRITES; i++)
      await store.put(`tenants/t/jobs/j${i}/result.xlsx`, body, 'application/x');
    const { user, system } = process.cpuUsage(before);
    return { userMs: user / 1000, systemMs: system / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function bareWrites(size: number, folderPerWrite: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-bench-artifact-'));
  try {
    const body = randomBytes(size);
    return cpu(() => {
      for (let i = 0; i < WRITES; i++) {
        const folder = folderPerWrite ? join(dir, `j${i}`) : dir;
        if (folderPerWrite) mkdirSync(folder, { mode: 0o700 });
        const temp = join(folder, `w${i}.tmp`);
        const fd = openSync(temp, 'wx', 0o600);
        writeSync(fd, body);
        closeSync(fd);
        renameSync(temp, join(folder, `w${i}.obj`));
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const per = (ms: number) => (ms / WRITES).toFixed(3);
for (const size of [41_000, 114_000]) {
  for (let round = 0; round < 2; round++) {
    const put = await storePuts(size);
    const own = bareWrites(size, true);
    const flat = bareWrites(size, false);
    console.log(
      JSON.stringify({
        bytes: size,
        round,
        storePut: { user: per(put.userMs), system: per(put.systemMs) },
        bareFolderPerWrite: { user: per(own.userMs), system: per(own.systemMs) },
        bareOneFolder: { user: per(flat.userMs), system: per(flat.systemMs) },
      }),
    );
  }
}
