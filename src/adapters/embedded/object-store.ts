import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CorruptWriteError, StorageFullError, ValidationError } from '../../core/errors.ts';
import type { ObjectInfo, ObjectPage, ObjectStore, StoredObject } from '../../ports/object-store.ts';
import { asyncObjectIo, blockingObjectIo } from './object-io.ts';

/**
 * Each object is one file: a fixed 256-byte header holding the content type, then the body. One file
 * (rather than a sidecar) makes a put atomic with a single rename, and the fixed header lets `list`
 * report sizes from `stat` alone.
 */
const HEADER_BYTES = 256;
/**
 * On-disk names: objects end in `~o`, temp files in `~t`. Keys cannot contain `~`, so a file name holds
 * key segments joined by `~` unambiguously, no file ever shares a name with a folder, and half-written
 * temp files are never listed.
 *
 * A key of four or more segments keeps its last two in one file, in the folder of the segments before them:
 * `tenants/t/jobs/j1/workbook.xlsx` is `tenants/t/jobs/j1~workbook.xlsx~o`; a shorter key is a file in the
 * folder of all its other segments (`exports/x.zip` is `exports/x.zip~o`), so a tenant's objects always
 * stay inside `tenants/{id}/`, which offboarding and a move remove whole.
 * So a job's artifacts need no folder of their own, only the tenant's `jobs/` one: on this file system each
 * new inode (folder or file) cost 0.2–0.5 ms of system time, and a folder per job doubled them
 * (docs/benchmarks.md, "Session 7: storing artifacts"). Data directories written before (every segment a
 * folder: `tenants/t/jobs/j1/workbook.xlsx~o`) still read: `get` falls back to that path, `list` finds
 * both forms and `delete` removes both.
 */
const OBJECT_SUFFIX = '~o';
const TEMP_SUFFIX = '~t';
const JOIN = '~';
/** Keys of this many segments or more keep their last two in one file name. */
const JOINED_FROM = 4;

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const MAX_KEY_LENGTH = 1024;
/**
 * The longest file or folder name a file system takes (NAME_MAX: 255 bytes on ext4, xfs, tmpfs, APFS).
 * Keys are ASCII, so a name's length in characters is its length in bytes.
 */
const MAX_NAME_BYTES = 255;
/** What a stored content type may be: it is written into a fixed header and served as a header. */
export const CONTENT_TYPE = /^[\x20-\x7e]{1,254}$/;

/**
 * Removes the temp files a killed writer left under `root` (a SIGKILL between open and rename): they are
 * never listed or served, but they hold disk space. Only files older than `olderThanMs` go, so a write in
 * flight in another process (a dedicated function) is never touched. Returns how many were removed.
 */
export async function removeStaleTempFiles(root: string, olderThanMs = 10 * 60_000): Promise<number> {
  const before = Date.now() - olderThanMs;
  let removed = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && entry.name.endsWith(TEMP_SUFFIX)) {
        const info = await stat(path).catch(() => undefined);
        if (
          info &&
          info.mtimeMs < before &&
          (await unlink(path).then(
            () => true,
            () => false,
          ))
        )
          removed++;
      }
    }
  };
  await walk(root);
  return removed;
}

export function invalid(path: string, message: string): ValidationError {
  return new ValidationError([{ path, message }]);
}

/** The folders (from the root) and the file name that hold a key's object in the layout above. */
function layoutOf(segments: string[]): { folders: string[]; file: string } {
  return segments.length < JOINED_FROM
    ? { folders: segments.slice(0, -1), file: segments.at(-1) + OBJECT_SUFFIX }
    : { folders: segments.slice(0, -2), file: segments.slice(-2).join(JOIN) + OBJECT_SUFFIX };
}

const isSegment = (s: string): boolean => SEGMENT.test(s) && s !== '.' && s !== '..';

/**
 * Keys are `/`-separated segments of letters, digits, `.`, `_`, `-`; no empty, `.` or `..` segment; and
 * each file and folder name the key becomes fits the file system, so a key too long for it is refused here
 * like any other bad key, by every embedded store alike (the SQLite one keeps a key as a row or a file by
 * its body's size), instead of failing in the file system (ENAMETOOLONG) or only once its body grows.
 */
export function checkKey(key: string): string[] {
  const segments = key.split('/');
  const ok = key.length > 0 && key.length <= MAX_KEY_LENGTH && segments.every(isSegment);
  if (!ok) throw invalid('/key', `${JSON.stringify(key)} is not a valid object key`);
  const { folders, file } = layoutOf(segments);
  if (file.length > MAX_NAME_BYTES || folders.some((f) => f.length > MAX_NAME_BYTES)) {
    throw invalid(
      '/key',
      `${JSON.stringify(key)} is not a valid object key: its segments name a file or folder longer than ${MAX_NAME_BYTES} bytes`,
    );
  }
  return segments;
}

/**
 * A prefix is a key cut anywhere: complete segments then a partial last segment. A complete segment may
 * be a folder (`list` walks it), so none is longer than a name can be; whether it ends in a file name
 * depends on the keys below it, so the prefix is not checked as a key.
 */
export function checkPrefix(prefix: string): { dirSegments: string[] } {
  if (prefix === '') return { dirSegments: [] };
  const segments = prefix.split('/');
  const last = segments.pop()!;
  if (prefix.length > MAX_KEY_LENGTH || (last !== '' && !SEGMENT.test(last)) || !segments.every(isSegment)) {
    throw invalid('/prefix', `${JSON.stringify(prefix)} is not a valid key prefix`);
  }
  if (segments.some((s) => s.length > MAX_NAME_BYTES)) {
    throw invalid(
      '/prefix',
      `${JSON.stringify(prefix)} is not a valid key prefix: a segment is longer than ${MAX_NAME_BYTES} bytes`,
    );
  }
  return { dirSegments: segments };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A full disk or quota is its own, retryable error; anything else stays as it was. */
export function storageError(error: unknown, key: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  // SQLITE_FULL: the object store in SQLite (sqlite-object-store.ts) met the same full disk.
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') {
    return new StorageFullError(60, {
      message: `No space left to store ${key}; nothing was stored.`,
      cause: error,
    });
  }
  return error;
}

/** An object file `list` found: its key, and whether it is in the previous layout (a folder per segment). */
interface Found {
  key: string;
  path: string;
  legacy: boolean;
}

/** A list cursor: the last key listed, base64url; every embedded object store reads it alike. */
export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export interface FileObjectStoreOptions {
  /**
   * fsync each object and its folder before `put` resolves (default true): the object survives power
   * loss. Without it a put still survives a crash of the process (the page cache keeps it), the
   * durability class of SQLite's `synchronous=NORMAL`, at about a millisecond less per put here.
   */
  fsync?: boolean;
  /**
   * Blocking file calls (`blockingObjectIo`) instead of the thread pool: for function threads and
   * processes, never for the API's event loop. Default false.
   */
  blockingIo?: boolean;
  /**
   * The root is made by someone else (a dedicated tenant's, by provisioning) and a put must not make it
   * again once it is removed: a put that finds it missing throws this error instead. Default: a put makes
   * every missing folder, the root included.
   */
  rootMissing?: () => Error;
}

/** Objects as files under `rootDir`, with S3 semantics: put overwrites atomically, list is by prefix in key order. */
export function createFileObjectStore(rootDir: string, options: FileObjectStoreOptions = {}): ObjectStore {
  const fsync = options.fsync ?? true;
  const io = options.blockingIo ? blockingObjectIo : asyncObjectIo;
  /** The folder and file of a key now; `legacy` is where the previous layout kept it (when different). */
  const locate = (segments: string[]): { dir: string; path: string; legacy?: string } => {
    const { folders, file } = layoutOf(segments);
    const dir = join(rootDir, ...folders);
    if (segments.length < JOINED_FROM) return { dir, path: join(dir, file) };
    return { dir, path: join(dir, file), legacy: join(rootDir, ...segments) + OBJECT_SUFFIX };
  };
  const ignoreMissing = (error: unknown): void => {
    if (!isMissing(error)) throw error;
  };

  /**
   * Objects under `dir` (whose key prefix is `base`) whose keys start with `prefix`, as key and file. A
   * file of a long key without `~` in its stem (`j1/workbook.xlsx~o`) is the previous layout's (`legacy`).
   */
  async function collect(dir: string, base: string, prefix: string, out: Found[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) {
        const sub = `${base}${entry.name}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub))
          await collect(join(dir, entry.name), sub, prefix, out);
      } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
        const stem = entry.name.slice(0, -OBJECT_SUFFIX.length);
        const key = base + stem.replace(JOIN, '/');
        if (key.startsWith(prefix))
          out.push({
            key,
            path: join(dir, entry.name),
            legacy: !stem.includes(JOIN) && key.split('/').length >= JOINED_FROM,
          });
      }
    }
  }

  return {
    async put(key, body, contentType) {
      const segments = checkKey(key);
      if (!CONTENT_TYPE.test(contentType))
        throw invalid('/contentType', 'must be 1-254 printable ASCII characters');
      const { dir, path: target, legacy } = locate(segments);
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt16BE(contentType.length, 0);
      header.write(contentType, 2, 'ascii');
      const temp = join(dir, randomBytes(8).toString('hex') + TEMP_SUFFIX);
      try {
        // Header and body in one buffer, counted as written: the count says the file is whole before the
        // rename publishes it (a short file is never an object).
        const bytes = Buffer.concat([header, body]);
        let written: number;
        try {
          written = await io.writeNew(temp, bytes, fsync);
        } catch (error) {
          // The folder exists for every put but a tenant's first, so it is made only when missing.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          if (options.rootMissing && !existsSync(rootDir)) throw options.rootMissing();
          const created = await io.mkdirs(dir);
          // A new folder survives power loss only once its parent is synced too (fsync(2)).
          if (fsync && created) {
            for (let d = dirname(dir); ; d = dirname(d)) {
              await io.syncDir(d);
              if (d === dirname(created)) break;
            }
          }
          written = await io.writeNew(temp, bytes, fsync);
        }
        if (written !== bytes.byteLength) {
          throw new CorruptWriteError(
            `Stored ${Math.max(0, written - HEADER_BYTES)} of ${body.byteLength} bytes of ${key}; nothing was published.`,
          );
        }
        // Data reaches the disk before the rename publishes it, so a crash never leaves a torn object.
        await io.rename(temp, target);
        if (fsync) await io.syncDir(dir);
      } catch (error) {
        await Promise.resolve()
          .then(() => io.unlink(temp))
          .catch(() => undefined);
        throw storageError(error, key);
      }
      // A copy the previous layout wrote is stale now (`get` reads the new file first); it goes, so one
      // file holds a key. Where none was, this is one failed lookup.
      if (legacy)
        await Promise.resolve()
          .then(() => io.unlink(legacy))
          .catch(ignoreMissing);
    },

    async get(key): Promise<StoredObject | undefined> {
      const { path, legacy } = locate(checkKey(key));
      let data: Buffer | undefined;
      for (const file of legacy ? [path, legacy] : [path]) {
        try {
          data = await io.readFile(file);
          break;
        } catch (error) {
          if (!isMissing(error)) throw error;
        }
      }
      if (!data) return undefined;
      // Only a power loss before the page cache reached the disk leaves a renamed file shorter than its header
      // (`fsync: false`, the class of SQLite's `synchronous=NORMAL`): a typed error, not a RangeError.
      if (data.length < HEADER_BYTES) {
        throw new CorruptWriteError(
          `The stored ${key} is torn (${data.length} bytes); it must be written again.`,
        );
      }
      const length = data.readUInt16BE(0);
      const contentType = data.toString('ascii', 2, 2 + length);
      const body = new Uint8Array(data.buffer, data.byteOffset + HEADER_BYTES, data.length - HEADER_BYTES);
      return { body, contentType, size: body.length };
    },

    async list(prefix, options = {}): Promise<ObjectPage> {
      const { dirSegments } = checkPrefix(prefix);
      const limit = Math.max(1, Math.min(1000, Math.trunc(options.limit ?? 1000)));
      // The cursor is only a lower bound; the prefix filter still applies, so a forged one reaches nothing new.
      const after = options.cursor ? Buffer.from(options.cursor, 'base64url').toString('utf8') : '';
      // Keys under `a/b/c/` may be files `c~…` in `a/b`: the walk starts one folder up.
      const from = dirSegments.length >= JOINED_FROM - 1 ? dirSegments.slice(0, -1) : dirSegments;
      const found: Found[] = [];
      await collect(join(rootDir, ...from), from.length > 0 ? `${from.join('/')}/` : '', prefix, found);
      // Keys are ASCII, so UTF-16 order is S3's byte order; of a key in both layouts, the new file counts.
      const sorted = found
        .filter((f) => f.key > after)
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : Number(a.legacy) - Number(b.legacy)))
        .filter((f, i, all) => i === 0 || all[i - 1]!.key !== f.key);
      const items: ObjectInfo[] = [];
      for (const { key, path } of sorted) {
        if (items.length === limit) break;
        try {
          const info = await stat(path);
          items.push({ key, size: info.size - HEADER_BYTES });
        } catch (error) {
          if (!isMissing(error)) throw error;
        }
      }
      const last = items.at(-1);
      const more = last !== undefined && sorted.at(-1)!.key > last.key;
      return { items, ...(more ? { nextCursor: encodeCursor(last.key) } : {}) };
    },

    async delete(key) {
      const { path, legacy } = locate(checkKey(key));
      // The previous layout's copy first: were the process killed in between, the key still reads as the
      // current object, never as the stale one.
      for (const file of legacy ? [legacy, path] : [path]) {
        const removed = await unlink(file).then(
          () => true,
          (error: unknown) => {
            ignoreMissing(error);
            return false;
          },
        );
        // A removal survives power loss only once its folder is synced, as a put's rename does: otherwise a
        // file could come back after a later durable change counted on it gone (the SQLite store deletes a
        // larger, older version's file before the row that shadowed it; a power loss then showed that file).
        if (removed && fsync) await io.syncDir(dirname(file));
      }
    },
  };
}
