import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StoreNotFoundError } from '../../core/errors.ts';
import { PRIVATE_DIR_MODE } from '../../core/file-modes.ts';
import { isTenantId, parseTenantId, type TenantId } from '../../core/ids.ts';
import type { StoreRef } from '../../core/placement.ts';
import type { JobStore, TenantJobStore } from '../../ports/job-store.ts';
import { type ObjectStore, tenantObjectKey, tenantPrefix } from '../../ports/object-store.ts';
import type { OutcomeWriter, StoreProvider } from '../../ports/stores.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import { needsMigration, openDatabase, openExistingDatabase, type SqliteDatabase } from './database.ts';

/**
 * `process`: every commit and artifact survives a crash or SIGKILL of any process (page cache), not an
 * OS crash or power loss. `power`: fsync on every commit and artifact, which survives those too.
 */
export type Durability = 'process' | 'power';

import { createSqliteJobStore, type SqliteJobStore, type SqliteTenantJobStore } from './job-store.ts';
import type { AlongsideWrite } from './meter-completion.ts';
import { createFileObjectStore } from './object-store.ts';
import { createSqliteObjectStore, objectRowWrite } from './sqlite-object-store.ts';

/** The embedded stores also name the SQLite file behind a ref: the submit's one commit writes it directly. */
export interface EmbeddedStoreProvider extends StoreProvider {
  /** The open database of `ref`'s job records (opened on first use; `StoreNotFoundError` if it was not provisioned or was destroyed). */
  database(ref: StoreRef): SqliteDatabase;
  /** Every job database on disk now: the shared one and each dedicated tenant's. */
  refsOnDisk(): StoreRef[];
  /**
   * Migrates each dedicated tenant's database on disk whose schema is older than this version's, one after
   * the other, waiting for another process's write lock as any start does (`MigrationLockedError` after
   * 5 minutes). For a start, before the API serves: a migration that rewrites every row would otherwise run
   * on the tenant's first request, on the event loop every tenant's requests share. Answers what it migrated
   * (schema versions, milliseconds taken).
   */
  migrateOnDisk(): { tenantId: TenantId; from: number; to: number; ms: number }[];
}

/** A dedicated tenant's open database and the job store on it; closed again once idle (see `idleCloseMs`). */
interface OpenTenantDb {
  db: SqliteDatabase;
  jobs: SqliteJobStore;
  /** Per owner: a store's statements are prepared once per connection, not on every call. */
  owners: Map<TenantId, SqliteTenantJobStore>;
  /** Job store calls still running on this connection: it is not closed under them. */
  busy: number;
  lastUsed: number;
  /** Handed out raw (`database`): kept until then, since its user may commit on it a turn later. */
  heldUntil: number;
}

/** How long a dedicated tenant's database stays open after its last use, by default. */
const IDLE_CLOSE_MS = 30_000;
/** How many dedicated tenants' databases stay open at most (unless in use), by default. */
const MAX_OPEN = 16;
/**
 * How long a database handed out by `database()` is not closed: the submit's commit runs in the same
 * event-loop turn or at its end, and a failed outbox move is retried after a second (job-intake.ts).
 */
const RAW_HOLD_MS = 2_000;

/**
 * Shared data lives in the shared job database (`jobs.sqlite`: job records and objects up to 1 MiB) and
 * `objects/` (larger objects); a dedicated tenant gets a folder of its own, `tenants/{id}/` with its own
 * SQLite file and object root, so its data can be moved or removed whole.
 *
 * A dedicated tenant's database is open only while it is used: provisioning creates and migrates it and
 * closes it again, a connection unused for `idleCloseMs` is closed, and at most `maxOpen` stay open (the
 * least recently used not in use goes first), so a pass over every tenant (the job reconciler's) does not
 * open them all at once. Each open connection costs about 250 KB of native memory (page cache, schema,
 * lookaside; measured in docs/benchmarks.md, "Session 6"), which 100 idle dedicated tenants would
 * otherwise hold for ever. The job stores handed out stay valid across a close: each call reopens the
 * database when needed.
 */
export function createEmbeddedStoreProvider(
  dataDir: string,
  sharedDb: SqliteDatabase,
  options: {
    durability?: Durability;
    usage?: UsageLedger;
    /** Object files written with blocking calls: function threads only (`FileObjectStoreOptions`). */
    blockingIo?: boolean;
    /** Milliseconds a dedicated tenant's database stays open after its last use (default 30 s). */
    idleCloseMs?: number;
    /** Dedicated tenants' databases kept open at most, unless in use (default 16). */
    maxOpen?: number;
  } = {},
): EmbeddedStoreProvider {
  const metered = options.usage ? { usage: options.usage } : {};
  const power = options.durability === 'power';
  const synchronous = power ? 'FULL' : 'NORMAL';
  const idleCloseMs = options.idleCloseMs ?? IDLE_CLOSE_MS;
  const maxOpen = options.maxOpen ?? MAX_OPEN;
  const objectOptions = { fsync: power, blockingIo: options.blockingIo === true };
  const shared = {
    jobs: createSqliteJobStore(sharedDb, metered),
    objects: createSqliteObjectStore(
      () => sharedDb,
      createFileObjectStore(join(dataDir, 'objects'), objectOptions),
    ),
  };
  const sharedOwners = new Map<TenantId, SqliteTenantJobStore>();
  const openDbs = new Map<TenantId, OpenTenantDb>();
  const jobStores = new Map<TenantId, JobStore>();
  const objectStores = new Map<TenantId, ObjectStore>();
  // An id read back from a record is checked before it becomes a path (`..` would leave DATA_DIR/tenants).
  const tenantDir = (tenantId: string) => join(dataDir, 'tenants', parseTenantId(tenantId, '/tenantId'));
  const dbPath = (tenantId: string) => join(tenantDir(tenantId), 'jobs.sqlite');
  let sweeper: NodeJS.Timeout | undefined;

  function sweep(): void {
    const now = Date.now();
    for (const [tenantId, open] of openDbs) {
      if (open.busy > 0 || open.heldUntil > now || now - open.lastUsed < idleCloseMs) continue;
      openDbs.delete(tenantId);
      open.db.close();
    }
    if (openDbs.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  }

  /** Closes the least recently used connections over `maxOpen` that nobody uses now. */
  function evict(now: number): void {
    for (const [tenantId, open] of openDbs) {
      if (openDbs.size <= maxOpen) return;
      if (open.busy > 0 || open.heldUntil > now) continue;
      openDbs.delete(tenantId);
      open.db.close();
    }
  }

  /**
   * The tenant's open database, opened (and migrated) on first use; marks it used now. `openDbs` is kept
   * in order of last use (a used entry moves to the end), so eviction walks it from the front. Only
   * `provision` creates the file: a store used after `destroy` (held by a route or a handler across a
   * demotion or an offboarding) or never provisioned throws `StoreNotFoundError`, and is not made again,
   * which would leave a folder no later step removes.
   */
  function use(tenantId: TenantId, raw = false): OpenTenantDb {
    const now = Date.now();
    let open = openDbs.get(tenantId);
    if (open) openDbs.delete(tenantId);
    else {
      // Opened on a request's or a job's way (the event loop of the API or a thread): a schema that must be
      // migrated while another process holds the lock waits the busy timeout, not the minutes a start may,
      // then fails as 503 migration_locked and the request or delivery is tried again.
      const db = openExistingDatabase(dbPath(tenantId), { synchronous, migrationWaitMs: 0 });
      if (!db) throw new StoreNotFoundError(tenantId);
      open = {
        db,
        jobs: createSqliteJobStore(db, metered),
        owners: new Map(),
        busy: 0,
        lastUsed: 0,
        heldUntil: 0,
      };
      sweeper ??= setInterval(sweep, Math.max(10, idleCloseMs / 2)).unref();
    }
    openDbs.set(tenantId, open);
    open.lastUsed = now;
    if (raw) open.heldUntil = now + RAW_HOLD_MS;
    open.busy++;
    evict(now);
    open.busy--;
    return open;
  }

  /** `owner`'s job store on an open connection, made once per connection. */
  function ownerOn(open: OpenTenantDb, owner: TenantId): SqliteTenantJobStore {
    let scoped = open.owners.get(owner);
    if (!scoped) {
      scoped = open.jobs.forTenant(owner);
      open.owners.set(owner, scoped);
    }
    return scoped;
  }

  /** Runs `fn` on the tenant's current connection, kept open (not swept, not evicted) until it settles. */
  async function onOpen<T>(tenantId: TenantId, fn: (open: OpenTenantDb) => Promise<T>): Promise<T> {
    const open = use(tenantId);
    open.busy++;
    try {
      return await fn(open);
    } finally {
      open.busy--;
      open.lastUsed = Date.now();
    }
  }

  /** A job store whose every call runs on the tenant's current connection, kept open while it runs. */
  function jobsOf(tenantId: TenantId): JobStore {
    let store = jobStores.get(tenantId);
    if (store) return store;
    store = {
      forTenant(owner) {
        // Checks `owner` now, as the store it stands for does, also where the store is gone.
        parseTenantId(owner, '/tenantId');
        const template = ownerOn(use(tenantId), owner);
        const wrapped: Record<string, unknown> = {};
        for (const [name, value] of Object.entries(template)) {
          if (typeof value !== 'function') {
            wrapped[name] = value;
            continue;
          }
          wrapped[name] = (...args: unknown[]) =>
            onOpen(tenantId, async (open) => {
              const method = ownerOn(open, owner)[name as keyof TenantJobStore] as (
                ...a: unknown[]
              ) => unknown;
              return method(...args);
            });
        }
        return wrapped as unknown as TenantJobStore;
      },
    };
    jobStores.set(tenantId, store);
    return store;
  }

  /**
   * A job's outcome and its artifacts in one transaction of the job database (`OutcomeWriter`): the record's
   * compare-and-set, the artifacts' rows and (shared tenants) its usage records commit together, so no
   * reader sees a finished job without its workbook, and a delivery that lost the race writes nothing.
   * An artifact too large for a row (over 1 MiB) is a file, stored when staged, as the object store does.
   */
  function outcomeWriter(ref: StoreRef, owner: TenantId): OutcomeWriter {
    const root = tenantPrefix(owner);
    return async (artifacts) => {
      const rows: AlongsideWrite[] = [];
      for (const { key, body, contentType } of artifacts) {
        const full = tenantObjectKey(root, key);
        const row = objectRowWrite(full, body, contentType);
        if (row) rows.push(row);
        else
          await (ref.kind === 'shared' ? shared.objects : objectsOf(ref.tenantId)).put(
            full,
            body,
            contentType,
          );
      }
      // No row (a model's failure, only files): the update alone, as any other.
      const alongside =
        rows.length === 0
          ? undefined
          : (db: SqliteDatabase) => {
              for (const row of rows) row(db);
            };
      return (next, expectedVersion) =>
        ref.kind === 'shared'
          ? sharedOwner(owner).update(next, expectedVersion, alongside)
          : onOpen(ref.tenantId, async (open) =>
              ownerOn(open, owner).update(next, expectedVersion, alongside),
            );
    };
  }

  /** `owner`'s job store on the shared database, made once. */
  function sharedOwner(owner: TenantId): SqliteTenantJobStore {
    let scoped = sharedOwners.get(owner);
    if (!scoped) {
      scoped = shared.jobs.forTenant(owner);
      sharedOwners.set(owner, scoped);
    }
    return scoped;
  }

  function objectsOf(tenantId: TenantId): ObjectStore {
    let store = objectStores.get(tenantId);
    if (!store) {
      // Rows on the tenant's own connection (opened on use, closed when idle, as its job store's).
      store = createSqliteObjectStore(
        () => use(tenantId).db,
        createFileObjectStore(join(tenantDir(tenantId), 'objects'), {
          ...objectOptions,
          rootMissing: () => new StoreNotFoundError(tenantId),
        }),
      );
      objectStores.set(tenantId, store);
    }
    return store;
  }

  return {
    database: (ref: StoreRef) => (ref.kind === 'shared' ? sharedDb : use(ref.tenantId, true).db),
    refsOnDisk() {
      const root = join(dataDir, 'tenants');
      const dedicated = existsSync(root)
        ? readdirSync(root)
            .filter(isTenantId)
            .filter((id) => existsSync(dbPath(id)))
        : [];
      return [{ kind: 'shared' }, ...dedicated.map((tenantId) => ({ kind: 'dedicated' as const, tenantId }))];
    },
    jobs: (ref: StoreRef) => (ref.kind === 'shared' ? shared.jobs : jobsOf(ref.tenantId)),
    objects: (ref: StoreRef) => (ref.kind === 'shared' ? shared.objects : objectsOf(ref.tenantId)),
    outcomeWriter,
    migrateOnDisk() {
      const migrated = [];
      for (const ref of this.refsOnDisk()) {
        if (ref.kind !== 'dedicated' || openDbs.has(ref.tenantId)) continue;
        const path = dbPath(ref.tenantId);
        const old = existsSync(path) ? needsMigration(path) : undefined;
        if (!old) continue;
        const started = Date.now();
        openExistingDatabase(path, { synchronous })?.close();
        migrated.push({ tenantId: ref.tenantId, ...old, ms: Date.now() - started });
      }
      return migrated;
    },
    async provision(ref) {
      if (ref.kind === 'shared') return;
      mkdirSync(join(tenantDir(ref.tenantId), 'objects'), { recursive: true, mode: PRIVATE_DIR_MODE });
      // Created and migrated now, so a failure shows here; opened again when first used.
      if (!openDbs.has(ref.tenantId)) openDatabase(dbPath(ref.tenantId), { synchronous }).close();
    },
    async destroy(ref) {
      if (ref.kind === 'shared') return;
      openDbs.get(ref.tenantId)?.db.close();
      openDbs.delete(ref.tenantId);
      jobStores.delete(ref.tenantId);
      objectStores.delete(ref.tenantId);
      rmSync(tenantDir(ref.tenantId), { recursive: true, force: true });
    },
    async close() {
      clearInterval(sweeper);
      sweeper = undefined;
      for (const open of openDbs.values()) open.db.close();
      openDbs.clear();
    },
  };
}
