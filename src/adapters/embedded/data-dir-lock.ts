import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DataDirInUseError } from '../../core/errors.ts';
import { PRIVATE_FILE_MODE } from '../../core/file-modes.ts';

/** Who holds a DATA_DIR: written beside the lock by its holder, read by whoever is refused. */
export interface LockHolder {
  role: 'server' | 'cli';
  pid: number;
  /** ISO time the lock was taken. */
  since: string;
}

export interface DataDirLock {
  /** Lets the next process take DATA_DIR; also happens by itself when this process ends, however it ends. */
  release(): void;
}

const LOCK_FILE = 'silopool.lock';
const HOLDER_FILE = 'lock-holder.json';

/**
 * Takes DATA_DIR for this process alone: one server, or one CLI working on the data directly. Throws
 * DataDirInUseError naming the holder (and the running server's address from `server-url`) when another
 * process has it. `create: false` takes it only where a lock file already exists (returns undefined
 * otherwise), so a refused start can be told before anything is made in a folder that is not there yet.
 *
 * The lock is SQLite's own: an EXCLUSIVE lock held for the connection's life (`locking_mode=EXCLUSIVE`)
 * on a database used for nothing else. It is a POSIX record lock the kernel drops when the process ends,
 * SIGKILL and power loss included, so a crashed server never leaves a lock that the next start must judge
 * stale. A pid file guesses from a pid that may have been reused, and an mtime-refreshed lock directory
 * (proper-lockfile) waits out a staleness period after a crash and takes the lock from a holder whose event
 * loop stalled past it. Like every POSIX lock it is advisory and unreliable on some network filesystems,
 * where SQLite's WAL databases of DATA_DIR are not safe either.
 */
export function lockDataDir(
  dataDir: string,
  role: LockHolder['role'],
  options: { create: boolean },
): DataDirLock | undefined {
  const path = join(dataDir, LOCK_FILE);
  if (!options.create && !existsSync(path)) return undefined;
  // Created private first: SQLite would make it 0644 less the umask.
  if (options.create) closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  const db = new Database(path, { timeout: 0, fileMustExist: true });
  try {
    // No journal file beside the lock: the one transaction below changes nothing worth rolling back.
    db.pragma('journal_mode = MEMORY');
    db.pragma('locking_mode = EXCLUSIVE');
    // A write transaction takes the EXCLUSIVE lock; in this locking mode COMMIT keeps it until close.
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw inUse(dataDir, error);
    throw error;
  }
  const holder: LockHolder = { role, pid: process.pid, since: new Date().toISOString() };
  writeFileSync(join(dataDir, HOLDER_FILE), JSON.stringify(holder), { mode: PRIVATE_FILE_MODE });
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      db.close();
    },
  };
}

/** The refusal, told from what the holder wrote: its role and pid, and its address once it listens. */
function inUse(dataDir: string, cause: unknown): DataDirInUseError {
  const holderPath = join(dataDir, HOLDER_FILE);
  const holder = readJson<LockHolder>(holderPath);
  const urlPath = join(dataDir, 'server-url');
  // `server-url` older than the holder's lock was written by an earlier server: this one is not listening yet.
  // A stopping server removes it before it frees its port: absent, the holder is starting or stopping.
  const current =
    existsSync(urlPath) &&
    existsSync(holderPath) &&
    statSync(urlPath).mtimeMs >= statSync(holderPath).mtimeMs;
  const url = current ? readFileSync(urlPath, 'utf8').trim() : undefined;
  const pid = holder ? ` (pid ${holder.pid})` : '';
  const message =
    holder?.role === 'cli'
      ? `The silopool CLI${pid} is working on DATA_DIR ${dataDir}.`
      : url
        ? `A Silopool server is already running on DATA_DIR ${dataDir} at ${url}${pid}.`
        : `A Silopool server${pid} is starting or stopping on DATA_DIR ${dataDir}.`;
  return new DataDirInUseError(message, {
    dataDir,
    ...(holder ? { holder } : {}),
    ...(url ? { url } : {}),
    cause,
  });
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    // Absent (a holder killed between lock and write) or written by another version: told without it.
    return undefined;
  }
}
