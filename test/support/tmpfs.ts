import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounts a tmpfs of `size` on a new folder; undefined where mounting is not permitted (not root, no CAP_SYS_ADMIN). */
export function mountTmpfs(size: string): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmdirSync(dir);
    return undefined;
  }
}

export function unmount(dir: string): void {
  execFileSync('umount', [dir]);
  rmdirSync(dir);
}

/** Whether a real small filesystem can be made here to fill: tmpfs mounts need root (CI has it). */
export function canMountTmpfs(): boolean {
  const probe = mountTmpfs('1m');
  if (probe) unmount(probe);
  return probe !== undefined;
}

/** Writes a file until the filesystem refuses (ENOSPC). */
export function fillDisk(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}
