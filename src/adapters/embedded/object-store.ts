import { randomBytes } from 'node:crypto';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
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
 * On-disk names: objects end in `~o`, temp files in `~t`. Keys cannot contain `~`, so the object `a`
 * (`a~o`) and the folder of `a/b` (`a/`) never collide, and half-written temp files are never listed.
 */
const OBJECT_SUFFIX = '~o';
const TEMP_SUFFIX = '~t';

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const MAX_KEY_LENGTH = 1024;
const CONTENT_TYPE = /^[\x20-\x7e]{1,254}$/;

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

function invalid(path: string, message: string): ValidationError {
  return new ValidationError([{ path, message }]);
}

/** Keys are `/`-separated segments of letters, digits, `.`, `_`, `-`; no empty, `.` or `..` segment. */
function checkKey(key: string): string[] {
  const segments = key.split('/');
  const ok =
    key.length > 0 &&
    key.length <= MAX_KEY_LENGTH &&
    segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!ok) throw invalid('/key', `${JSON.stringify(key)} is not a valid object key`);
  return segments;
}

/** A prefix is a key cut anywhere: complete segments (checked like a key) then a partial last segment. */
function checkPrefix(prefix: string): { dirSegments: string[] } {
  if (prefix === '') return { dirSegments: [] };
  const segments = prefix.split('/');
  const last = segments.pop()!;
  if (prefix.length > MAX_KEY_LENGTH || (last !== '' && !SEGMENT.test(last))) {
    throw invalid('/prefix', `${JSON.stringify(prefix)} is not a valid key prefix`);
  }
  if (segments.length > 0) checkKey(segments.join('/'));
  return { dirSegments: segments };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A full disk or quota is its own, retryable error; anything else stays as it was. */
function storageError(error: unknown, key: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StorageFullError(60, {
      message: `No space left to store ${key}; nothing was stored.`,
      cause: error,
    });
  }
  return error;
}

function encodeCursor(key: string): string {
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
}

/** Objects as files under `rootDir`, with S3 semantics: put overwrites atomically, list is by prefix in key order. */
export function createFileObjectStore(rootDir: string, options: FileObjectStoreOptions = {}): ObjectStore {
  const fsync = options.fsync ?? true;
  const io = options.blockingIo ? blockingObjectIo : asyncObjectIo;
  const pathOf = (segments: string[]): string => join(rootDir, ...segments) + OBJECT_SUFFIX;

  /** Keys under `dir` (whose key prefix is `base`) that could start with `prefix`. */
  async function collect(dir: string, base: string, prefix: string, out: string[]): Promise<void> {
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
        const key = base + entry.name.slice(0, -OBJECT_SUFFIX.length);
        if (key.startsWith(prefix)) out.push(key);
      }
    }
  }

  return {
    async put(key, body, contentType) {
      const segments = checkKey(key);
      if (!CONTENT_TYPE.test(contentType))
        throw invalid('/contentType', 'must be 1-254 printable ASCII characters');
      const target = pathOf(segments);
      const dir = join(rootDir, ...segments.slice(0, -1));
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt16BE(contentType.length, 0);
      header.write(contentType, 2, 'ascii');
      const temp = join(dir, randomBytes(8).toString('hex') + TEMP_SUFFIX);
      try {
        await io.mkdirs(dir);
        // Header and body in one buffer, counted as written: the count says the file is whole before the
        // rename publishes it (a short file is never an object).
        const bytes = Buffer.concat([header, body]);
        const written = await io.writeNew(temp, bytes, fsync);
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
    },

    async get(key): Promise<StoredObject | undefined> {
      const segments = checkKey(key);
      let data: Buffer;
      try {
        data = await io.readFile(pathOf(segments));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
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
      const base = dirSegments.length > 0 ? `${dirSegments.join('/')}/` : '';
      const keys: string[] = [];
      await collect(join(rootDir, ...dirSegments), base, prefix, keys);
      // Keys are ASCII, so UTF-16 order is S3's byte order.
      const sorted = keys.filter((k) => k > after).sort();
      const items: ObjectInfo[] = [];
      for (const key of sorted) {
        if (items.length === limit) break;
        try {
          const info = await stat(pathOf(key.split('/')));
          items.push({ key, size: info.size - HEADER_BYTES });
        } catch (error) {
          if (!isMissing(error)) throw error;
        }
      }
      const last = items.at(-1);
      const more = last !== undefined && sorted.at(-1)! > last.key;
      return { items, ...(more ? { nextCursor: encodeCursor(last.key) } : {}) };
    },

    async delete(key) {
      try {
        await unlink(pathOf(checkKey(key)));
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    },
  };
}
