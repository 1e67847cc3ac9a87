import { join } from 'node:path';
import { createSqliteBillingItems } from '../adapters/embedded/billing-items.ts';
import {
  createSqliteMessageQueue,
  createSqliteTenantDirectory,
  openDatabase,
  type SqliteDatabase,
  type SqliteMessageQueue,
} from '../adapters/embedded/index.ts';
import { createSqliteJobIntake, type SqliteJobIntake } from '../adapters/embedded/job-intake.ts';
import { createFileReleasePointer } from '../adapters/embedded/release-pointer.ts';
import {
  createEmbeddedStoreProvider,
  type Durability,
  type EmbeddedStoreProvider,
} from '../adapters/embedded/store-provider.ts';
import { createSqliteUsageLedger } from '../adapters/embedded/usage-ledger.ts';
import { ConfigError } from '../core/errors.ts';
import { openReleaseCatalog, type ReleaseCatalog } from '../models/release-catalog.ts';
import { startLocalTracing } from '../observability/local-tracing.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import { withCheckedIds } from '../ports/checked-directory.ts';
import { laneDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';
import type { FunctionThreadDeps } from '../runtime/function-runtime.ts';

export interface EmbeddedPlatform {
  /** Tenants, queues and operations. */
  db: SqliteDatabase;
  /** Shared tenants' job records: a file of its own, so job writes and queue writes do not wait on one lock. */
  jobsDb: SqliteDatabase;
  directory: TenantDirectory;
  queue: SqliteMessageQueue;
  stores: StoreProvider;
  /** Submits: each job and its message in one commit of the job's database (see job-intake.ts). */
  intake: SqliteJobIntake;
  /** Usage records, in `jobs.sqlite` beside the shared jobs they count (docs/billing.md). */
  usage: UsageLedger;
  /** Plans, plan changes, adjustments and closed statements, beside the ledger. */
  billing: BillingItems;
  /** Migrates dedicated tenants' databases of an older schema (see `EmbeddedStoreProvider.migrateOnDisk`). */
  migrateDedicatedStores(): ReturnType<EmbeddedStoreProvider['migrateOnDisk']>;
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
  options: { blockingIo?: boolean } = {},
): EmbeddedPlatform {
  const synchronous = durability === 'power' ? 'FULL' : 'NORMAL';
  const db = openDatabase(join(dataDir, 'silopool.sqlite'), { synchronous });
  // Tenants' inputs and results, shared: nothing of them stays in free space once rewritten or erased.
  const jobsDb = openDatabase(join(dataDir, 'jobs.sqlite'), { synchronous, secureDelete: true });
  const usage = createSqliteUsageLedger(jobsDb);
  const stores = createEmbeddedStoreProvider(dataDir, jobsDb, {
    durability,
    usage,
    blockingIo: options.blockingIo === true,
  });
  const queue = createSqliteMessageQueue(db);
  const intake = createSqliteJobIntake({ stores, queue });
  return {
    db,
    jobsDb,
    // A record whose id is no tenant id is no tenant: it never names a folder, queue or prefix.
    directory: withCheckedIds(createSqliteTenantDirectory(db), ({ key, id }) =>
      process.emitWarning(
        `Tenant record ${key ?? ''} names the id ${JSON.stringify(id)}, which is no tenant id: left out.`,
      ),
    ),
    queue,
    stores,
    intake,
    usage,
    billing: createSqliteBillingItems(jobsDb),
    migrateDedicatedStores: () => stores.migrateOnDisk(),
    async close() {
      intake.close();
      await stores.close();
      jobsDb.close();
      db.close();
    },
  };
}

/**
 * Used by function threads: each opens its own connections to the same files, and claims, heartbeats and
 * deletes its messages on its own connection to the queue.
 */
export async function createHandlerDeps(options: Record<string, unknown>): Promise<FunctionThreadDeps> {
  // A function thread's loop runs its jobs' steps in order: object files are written with blocking calls.
  const platform = openEmbeddedPlatform(String(options.dataDir), durabilityFromEnv(), { blockingIo: true });
  startLocalTracing('silopool-function', String(options.dataDir));
  return {
    directory: platform.directory,
    queue: platform.queue,
    dataFor: laneDataFor(platform.stores),
    // The embedded server always delivers user notifications (see platform.ts): finished jobs announce to them.
    notifications: true,
    releases: openEmbeddedReleaseCatalog(releasesDirOf(String(options.dataDir))),
    ...(typeof options.maxReceiveCount === 'number' ? { maxReceiveCount: options.maxReceiveCount } : {}),
  };
}

/**
 * `SILOPOOL_DURABILITY` (`process`, the default, or `power`): read here, in the one place every embedded
 * process (server, function threads, dedicated function processes) opens its stores, so all agree.
 */
export function durabilityFromEnv(env: NodeJS.ProcessEnv = process.env): Durability {
  const value = env.SILOPOOL_DURABILITY || 'process';
  if (value !== 'process' && value !== 'power') {
    throw new ConfigError(
      'SILOPOOL_DURABILITY',
      `SILOPOOL_DURABILITY must be process or power, not "${value}"`,
    );
  }
  return value;
}

/**
 * Where releases are kept (`{id}/release.json` and modules, `current.json`): `SILOPOOL_RELEASES_DIR`, by
 * default `DATA_DIR/releases`. Read in every process (server, function threads, function processes).
 */
export function releasesDirOf(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  // Empty is unset: '' kept releases in the working folder.
  return env.SILOPOOL_RELEASES_DIR || join(dataDir, 'releases');
}

/** The releases of folder `dir` with the embedded pointer to the current one, `{dir}/current.json`. */
export function openEmbeddedReleaseCatalog(dir: string): ReleaseCatalog {
  return openReleaseCatalog(dir, createFileReleasePointer(dir));
}
