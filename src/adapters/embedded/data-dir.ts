import { chmod, lstat, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../core/file-modes.ts';

const OPEN_TO_OTHERS = 0o077;

/**
 * Makes `dataDir` private: creates it 0700, or, when an existing one is open to group or others (made by an
 * older version or another umask), walks it once and takes those bits off every folder and file below.
 * A folder that is already 0700 is not walked: nobody else can reach a path inside it whatever the modes
 * below say, and skipping the walk keeps startup cheap on a large object store. The root is fixed last,
 * so a walk cut short is done again on the next start.
 */
export async function secureDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const root = await lstat(dataDir);
  if ((root.mode & OPEN_TO_OTHERS) === 0) return;
  await restrictBelow(dataDir);
  await chmod(dataDir, PRIVATE_DIR_MODE);
}

async function restrictBelow(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // Symbolic links are left alone: chmod would follow one to a file outside DATA_DIR.
    if (entry.isDirectory()) {
      await restrictBelow(path);
      await restrict(path, PRIVATE_DIR_MODE);
    } else if (entry.isFile()) {
      await restrict(path, PRIVATE_FILE_MODE);
    }
  }
}

async function restrict(path: string, mode: number): Promise<void> {
  try {
    const { mode: current } = await lstat(path);
    if ((current & 0o777) !== mode) await chmod(path, mode);
  } catch (error) {
    // A file removed meanwhile (a temp object renamed, a WAL checkpointed away) needs no fixing.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Writes a file of DATA_DIR readable by the owner only, also when it existed with a wider mode. */
export async function writePrivateFile(path: string, data: string): Promise<void> {
  await writeFile(path, data, { mode: PRIVATE_FILE_MODE });
  // `mode` applies only when the file is created.
  await chmod(path, PRIVATE_FILE_MODE);
}
