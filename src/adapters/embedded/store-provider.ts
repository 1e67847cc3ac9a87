import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isTenantId } from '../../core/ids.ts';
import type { StoreRef } from '../../core/placement.ts';
import type { JobStore } from '../../ports/job-store.ts';
import type { ObjectStore } from '../../ports/object-store.ts';
import type { StoreProvider } from '../../ports/stores.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import { PRIVATE_DIR_MODE } from './data-dir.ts';
import { openDatabase, type SqliteDatabase } from './database.ts';

/**
 * `process`: every commit and artifact survives a crash or SIGKILL of any process (page cache), not an
 * OS crash or power loss. `power`: fsync on every commit and artifact, which survives those too.
 */
export type Durability = 'process' | 'power';

import { createSqliteJobStore } from './job-store.ts';
import { createFileObjectStore } from './object-store.ts';

/** The embedded stores also name the SQLite file behind a ref: the submit's one commit writes it directly. */
export interface EmbeddedStoreProvider extends StoreProvider {
  /** The open database of `ref`'s job records (opened on first use). */
  database(ref: StoreRef): SqliteDatabase;
  /** Every job database on disk now: the shared one and each dedicated tenant's. */
  refsOnDisk(): StoreRef[];
}

interface DedicatedStores {
  db: SqliteDatabase;
  jobs: JobStore;
  objects: ObjectStore;
}

/**
 * Shared data lives in the main database and `objects/`; a dedicated tenant gets a folder of its own,
 * `tenants/{id}/` with its own SQLite file and object root, so its data can be moved or removed whole.
 */
export function createEmbeddedStoreProvider(
  dataDir: string,
  sharedDb: SqliteDatabase,
  options: {
    durability?: Durability;
    usage?: UsageLedger;
    /** Object files written with blocking calls: function threads only (`FileObjectStoreOptions`). */
    blockingIo?: boolean;
  } = {},
): EmbeddedStoreProvider {
  const metered = options.usage ? { usage: options.usage } : {};
  const power = options.durability === 'power';
  const objectOptions = { fsync: power, blockingIo: options.blockingIo === true };
  const shared = {
    jobs: createSqliteJobStore(sharedDb, metered),
    objects: createFileObjectStore(join(dataDir, 'objects'), objectOptions),
  };
  const dedicated = new Map<string, DedicatedStores>();
  const tenantDir = (tenantId: string) => join(dataDir, 'tenants', tenantId);

  function open(tenantId: string): DedicatedStores {
    let stores = dedicated.get(tenantId);
    if (!stores) {
      const db = openDatabase(join(tenantDir(tenantId), 'jobs.sqlite'), {
        synchronous: power ? 'FULL' : 'NORMAL',
      });
      stores = {
        db,
        jobs: createSqliteJobStore(db, metered),
        objects: createFileObjectStore(join(tenantDir(tenantId), 'objects'), objectOptions),
      };
      dedicated.set(tenantId, stores);
    }
    return stores;
  }

  return {
    database: (ref: StoreRef) => (ref.kind === 'shared' ? sharedDb : open(ref.tenantId).db),
    refsOnDisk() {
      const root = join(dataDir, 'tenants');
      const dedicated = existsSync(root)
        ? readdirSync(root)
            .filter(isTenantId)
            .filter((id) => existsSync(join(tenantDir(id), 'jobs.sqlite')))
        : [];
      return [{ kind: 'shared' }, ...dedicated.map((tenantId) => ({ kind: 'dedicated' as const, tenantId }))];
    },
    jobs: (ref: StoreRef) => (ref.kind === 'shared' ? shared.jobs : open(ref.tenantId).jobs),
    objects: (ref: StoreRef) => (ref.kind === 'shared' ? shared.objects : open(ref.tenantId).objects),
    async provision(ref) {
      if (ref.kind === 'shared') return;
      mkdirSync(join(tenantDir(ref.tenantId), 'objects'), { recursive: true, mode: PRIVATE_DIR_MODE });
      open(ref.tenantId);
    },
    async destroy(ref) {
      if (ref.kind === 'shared') return;
      dedicated.get(ref.tenantId)?.db.close();
      dedicated.delete(ref.tenantId);
      rmSync(tenantDir(ref.tenantId), { recursive: true, force: true });
    },
    async close() {
      for (const stores of dedicated.values()) stores.db.close();
      dedicated.clear();
    },
  };
}
