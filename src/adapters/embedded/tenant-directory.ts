import { ConditionFailedError, ConflictError, TenantSettingsError } from '../../core/errors.ts';
import { isTenantId, type TenantId } from '../../core/ids.ts';
import { decodePageCursor, encodePageCursor } from '../../core/page-cursor.ts';
import type { Tenant } from '../../core/tenant.ts';
import {
  TENANT_LIST,
  type TenantDirectory,
  type TenantPage,
  withKeyUse,
} from '../../ports/tenant-directory.ts';
import { erasing, type SqliteDatabase } from './database.ts';
import { TurnMemo } from './turn-memo.ts';

const encodeCursor = (id: string) => encodePageCursor(TENANT_LIST, id);
const decodeCursor = (cursor: string) => decodePageCursor(cursor, TENANT_LIST, isTenantId);

/** A stored record, or a 503 naming the tenant when the row was damaged outside Silopool (never a 500). */
function parseTenant(id: string, doc: string): Tenant {
  try {
    return JSON.parse(doc) as Tenant;
  } catch {
    throw new TenantSettingsError(id, [{ path: '/', message: 'stored record is not valid JSON' }]);
  }
}

/** Most tenant records kept parsed; past it the cache starts again (it is only a saving). */
const CACHE_LIMIT = 10_000;

/**
 * The tenants table's change counter as read in this turn of a connection's thread's event loop; shared by
 * every directory on the connection, so a write through one is seen by the others' next `get`.
 */
const turnCounters = new WeakMap<SqliteDatabase, TurnMemo<number>>();

/**
 * Tenants as JSON documents keyed by id; updates are compare-and-set on `version`, as on DynamoDB.
 * `get` keeps parsed records while the tenants table's change counter (`tenant_generation`, bumped by
 * triggers in the commit of every insert, update and delete, from any connection or process) stays the
 * same: a revoked key, a suspension or new settings are seen by the very next read. The counter itself
 * (a single-row read, ~6–10 µs) is read at most once per turn of the event loop (turn-memo.ts): it is
 * forgotten at the turn's end, after LONGEST_TURN_MS of a longer turn, and at once after a write through
 * this connection. Requests handled in one
 * turn arrived before it started reading, so a change another process commits is seen by every request
 * that arrives after the commit. Returned records are shared: callers change tenants by copies, never in
 * place.
 */
export function createSqliteTenantDirectory(db: SqliteDatabase): TenantDirectory {
  const stmt = {
    generation: db.prepare<[], number>('SELECT n FROM tenant_generation WHERE k = 0').pluck(),
    insert: db.prepare('INSERT OR IGNORE INTO tenants (id, doc, version) VALUES (?, ?, ?)'),
    get: db.prepare<[string], { doc: string }>('SELECT doc FROM tenants WHERE id = ?'),
    update: db.prepare('UPDATE tenants SET doc = ?, version = ? WHERE id = ? AND version = ?'),
    list: db.prepare<[string, number], { id: string; doc: string }>(
      'SELECT id, doc FROM tenants WHERE id > ? ORDER BY id LIMIT ?',
    ),
    delete: db.prepare('DELETE FROM tenants WHERE id = ?'),
  };

  const cache = new Map<string, Tenant>();
  let cachedGeneration: number | undefined;
  let counter = turnCounters.get(db);
  if (!counter) {
    counter = new TurnMemo<number>();
    turnCounters.set(db, counter);
  }
  const turn = counter;
  const generation = (): number => turn.get() ?? turn.remember(stmt.generation.get() as number);
  /** After a write through this connection (it bumped the counter): the next `get` reads it again. */
  const wrote = () => turn.forget();

  return {
    async create(tenant) {
      const { changes } = stmt.insert.run(tenant.id, JSON.stringify(tenant), tenant.version);
      wrote();
      if (changes === 0) throw new ConflictError(`Tenant ${tenant.id} already exists.`, 'tenant_exists');
    },
    async get(id: TenantId) {
      // Read before the record: a change committed in between is cached under the old count and dropped
      // by the next read, never kept.
      const now = generation();
      if (now !== cachedGeneration || cache.size >= CACHE_LIMIT) {
        cache.clear();
        cachedGeneration = now;
      }
      const cached = cache.get(id);
      if (cached) return cached;
      const row = stmt.get.get(id);
      if (!row) return undefined;
      const tenant = parseTenant(id, row.doc);
      cache.set(id, tenant);
      return tenant;
    },
    async update(next, expectedVersion) {
      const stored: Tenant = { ...next, version: expectedVersion + 1 };
      // A tenant's settings are its customer's: the version replaced leaves no copy in the page's free space.
      const { changes } = erasing(db, () =>
        stmt.update.run(JSON.stringify(stored), stored.version, next.id, expectedVersion),
      );
      wrote();
      if (changes === 0)
        throw new ConditionFailedError(`Tenant ${next.id} changed since version ${expectedVersion}.`);
      return stored;
    },
    async touchApiKey(tenant, keyId, at) {
      const touched = withKeyUse(tenant, keyId, at);
      if (touched) {
        erasing(db, () =>
          stmt.update.run(JSON.stringify(touched), tenant.version, tenant.id, tenant.version),
        );
        wrote();
      }
    },
    async list(options = {}): Promise<TenantPage> {
      const limit = Math.max(1, Math.min(1000, Math.trunc(options.limit ?? 100)));
      const rows = stmt.list.all(options.cursor ? decodeCursor(options.cursor) : '', limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map((r) => parseTenant(r.id, r.doc)),
        ...(rows.length > limit && last ? { nextCursor: encodeCursor(last.id) } : {}),
      };
    },
    async delete(id) {
      erasing(db, () => stmt.delete.run(id));
      wrote();
    },
  };
}
