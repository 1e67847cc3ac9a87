import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../core/file-modes.ts';

/**
 * The file calls an object write or read makes, in one of two forms with the same results and errors
 * (Node's `SystemError`s: ENOSPC, ENOENT, …): through the thread pool (`asyncObjectIo`, for the API's event
 * loop, which must not block), or blocking (`blockingObjectIo`, for a function thread or process, whose
 * loop runs one job's steps in order: each call then costs its system call alone instead of a thread-pool
 * round trip and a promise — about a dozen per finished job, measured in docs/benchmarks.md).
 */
export interface ObjectIo {
  /**
   * Creates `dir` and its parents (private mode); nothing when they exist. Returns the first folder it
   * created (the parent of that one gained an entry), or undefined when all existed.
   */
  mkdirs(dir: string): Promise<string | undefined> | string | undefined;
  /**
   * Creates `path` (it must not exist), writes `bytes` until all are written or a write writes nothing,
   * fsyncs when asked, closes it; returns the bytes written (fewer than `bytes` on a short write).
   */
  writeNew(path: string, bytes: Uint8Array, fsync: boolean): Promise<number> | number;
  rename(from: string, to: string): Promise<void> | void;
  unlink(path: string): Promise<void> | void;
  readFile(path: string): Promise<Buffer> | Buffer;
  /** fsyncs a folder (its entries survive power loss). */
  syncDir(dir: string): Promise<void> | void;
}

export const asyncObjectIo: ObjectIo = {
  mkdirs: (dir) => mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE }),
  async writeNew(path, bytes, fsync) {
    const handle = await open(path, 'wx', PRIVATE_FILE_MODE);
    try {
      let written = 0;
      while (written < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written);
        if (bytesWritten === 0) break;
        written += bytesWritten;
      }
      if (fsync) await handle.sync();
      return written;
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  readFile: (path) => readFile(path),
  async syncDir(dir) {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

export const blockingObjectIo: ObjectIo = {
  mkdirs: (dir) => mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE }),
  writeNew(path, bytes, fsync) {
    const fd = openSync(path, 'wx', PRIVATE_FILE_MODE);
    try {
      let written = 0;
      while (written < bytes.byteLength) {
        const wrote = writeSync(fd, bytes, written, bytes.byteLength - written);
        if (wrote === 0) break;
        written += wrote;
      }
      if (fsync) fsyncSync(fd);
      return written;
    } finally {
      closeSync(fd);
    }
  },
  rename: (from, to) => renameSync(from, to),
  unlink: (path) => unlinkSync(path),
  readFile: (path) => readFileSync(path),
  syncDir(dir) {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};
