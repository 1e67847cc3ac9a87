import { join } from 'node:path';
import {
  createSqliteMessageQueue,
  createSqliteTenantDirectory,
  openDatabase,
  type SqliteDatabase,
  type SqliteMessageQueue,
} from '../adapters/embedded/index.ts';
import { createEmbeddedStoreProvider } from '../adapters/embedded/store-provider.ts';
import type { HandlerDeps } from '../functions/model-handler.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';

export interface EmbeddedPlatform {
  db: SqliteDatabase;
  directory: TenantDirectory;
  queue: SqliteMessageQueue;
  stores: StoreProvider;
  close(): Promise<void>;
}

/** The embedded default: one SQLite file for tenants, queues and shared jobs; files on disk for objects. */
export function openEmbeddedPlatform(dataDir: string): EmbeddedPlatform {
  const db = openDatabase(join(dataDir, 'silopool.sqlite'));
  const stores = createEmbeddedStoreProvider(dataDir, db);
  return {
    db,
    directory: createSqliteTenantDirectory(db),
    queue: createSqliteMessageQueue(db),
    stores,
    async close() {
      await stores.close();
      db.close();
    },
  };
}

/** Used by function threads and processes: each opens its own connection to the same files. */
export async function createHandlerDeps(options: Record<string, unknown>): Promise<HandlerDeps> {
  const platform = openEmbeddedPlatform(String(options.dataDir));
  return {
    directory: platform.directory,
    stores: platform.stores,
    queue: platform.queue,
    ...(typeof options.maxReceiveCount === 'number' ? { maxReceiveCount: options.maxReceiveCount } : {}),
  };
}
