import { join } from 'node:path';
import { createSqliteBillingItems } from '../adapters/embedded/billing-items.ts';
import {
  createSqliteMessageQueue,
  createSqliteTenantDirectory,
  openDatabase,
  type SqliteDatabase,
  type SqliteMessageQueue,
} from '../adapters/embedded/index.ts';
import { createEmbeddedStoreProvider, type Durability } from '../adapters/embedded/store-provider.ts';
import { createSqliteUsageLedger } from '../adapters/embedded/usage-ledger.ts';
import type { HandlerDeps } from '../functions/model-handler.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';

export interface EmbeddedPlatform {
  /** Tenants, queues and operations. */
  db: SqliteDatabase;
  /** Shared tenants' job records: a file of its own, so job writes and queue writes do not wait on one lock. */
  jobsDb: SqliteDatabase;
  directory: TenantDirectory;
  queue: SqliteMessageQueue;
  stores: StoreProvider;
  /** Usage records, in `jobs.sqlite` beside the shared jobs they count (docs/billing.md). */
  usage: UsageLedger;
  /** Plans, plan changes, adjustments and closed statements, beside the ledger. */
  billing: BillingItems;
  close(): Promise<void>;
}

/**
 * The embedded default: `silopool.sqlite` for tenants and queues, `jobs.sqlite` for shared tenants' jobs,
 * files on disk for objects. Two files because SQLite has one write lock per file: the API's and the
 * function threads' job writes would otherwise queue behind every claim and delete of the queue.
 */
export function openEmbeddedPlatform(
  dataDir: string,
  durability: Durability = durabilityFromEnv(),
): EmbeddedPlatform {
  const synchronous = durability === 'power' ? 'FULL' : 'NORMAL';
  const db = openDatabase(join(dataDir, 'silopool.sqlite'), { synchronous });
  const jobsDb = openDatabase(join(dataDir, 'jobs.sqlite'), { synchronous });
  const usage = createSqliteUsageLedger(jobsDb);
  const stores = createEmbeddedStoreProvider(dataDir, jobsDb, { durability, usage });
  return {
    db,
    jobsDb,
    directory: createSqliteTenantDirectory(db),
    queue: createSqliteMessageQueue(db),
    stores,
    usage,
    billing: createSqliteBillingItems(jobsDb),
    async close() {
      await stores.close();
      jobsDb.close();
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

/**
 * `SILOPOOL_DURABILITY` (`process`, the default, or `power`): read here, in the one place every embedded
 * process (server, function threads, dedicated function processes) opens its stores, so all agree.
 */
export function durabilityFromEnv(env: NodeJS.ProcessEnv = process.env): Durability {
  const value = env.SILOPOOL_DURABILITY ?? 'process';
  if (value !== 'process' && value !== 'power') {
    throw new Error(`SILOPOOL_DURABILITY must be process or power, not "${value}"`);
  }
  return value;
}
