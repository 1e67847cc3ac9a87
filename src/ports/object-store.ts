import { ValidationError } from '../core/errors.ts';
import { parseTenantId, type TenantId } from '../core/ids.ts';

export interface StoredObject {
  body: Uint8Array;
  contentType: string;
  size: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ObjectPage {
  items: ObjectInfo[];
  nextCursor?: string;
}

/** S3 semantics: put overwrites, get of a missing key is undefined, list is by prefix in key order. */
export interface ObjectStore {
  /**
   * Stores `body` under `key`, whole or not at all: it resolves only once every byte is stored and
   * readable, and never publishes a short or torn object (a job record points at what a put stored
   * without reading it back). Throws `CorruptWriteError` on a short write, `StorageFullError` when the
   * disk is full; S3: the SDK's default CRC32 checksum (`requestChecksumCalculation: WHEN_SUPPORTED`),
   * which S3 verifies against the body it received (`BadDigest` otherwise).
   */
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<StoredObject | undefined>;
  list(prefix: string, options?: { cursor?: string; limit?: number }): Promise<ObjectPage>;
  delete(key: string): Promise<void>;
}

/** Every tenant's objects live under this prefix, in shared and dedicated stores alike. */
export function tenantPrefix(tenantId: TenantId): string {
  // An id read back from a record is checked before it becomes a prefix: `..` or `/` would leave `tenants/`.
  return `tenants/${parseTenantId(tenantId, '/tenantId')}/`;
}

/** A view of one tenant's objects: keys are relative to `tenants/{tenantId}/` and cannot escape it. */
export interface TenantObjectStore {
  readonly tenantId: TenantId;
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<StoredObject | undefined>;
  list(prefix?: string, options?: { cursor?: string; limit?: number }): Promise<ObjectPage>;
  delete(key: string): Promise<void>;
}

/** Segments of letters, digits, `.`, `_`, `-`; no `.` or `..` segment, no empty one, no leading `/`. */
const SAFE_KEY = /^(?!.*(?:^|\/)\.\.?(?:\/|$))(?!\/)(?!.*\/\/)[A-Za-z0-9._\-/]+$/;

/**
 * The store key of a tenant's object `key` under its prefix `root` (`tenantPrefix`): `tenants/{tenantId}/{key}`. Throws
 * `ValidationError` for a key that is not safe (an empty or dot segment, a leading `/`, other characters).
 */
export function tenantObjectKey(root: string, key: string): string {
  if (!SAFE_KEY.test(key)) {
    throw new ValidationError([{ path: '/key', message: `${JSON.stringify(key)} is not a safe object key` }]);
  }
  return root + key;
}

export function scopeObjects(store: ObjectStore, tenantId: TenantId): TenantObjectStore {
  const root = tenantPrefix(tenantId);
  const full = (key: string): string => tenantObjectKey(root, key);
  const strip = (page: ObjectPage): ObjectPage => ({
    ...page,
    items: page.items.map((item) => ({ ...item, key: item.key.slice(root.length) })),
  });
  return {
    tenantId,
    // async, so an unsafe key is a rejected promise like every other failure, not a synchronous throw.
    put: async (key, body, contentType) => store.put(full(key), body, contentType),
    get: async (key) => store.get(full(key)),
    list: async (prefix = '', options) => strip(await store.list(prefix ? full(prefix) : root, options)),
    delete: async (key) => store.delete(full(key)),
  };
}
