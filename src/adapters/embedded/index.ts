export { createSqliteBillingItems } from './billing-items.ts';
export { type OpenDatabaseOptions, openDatabase, type SqliteDatabase } from './database.ts';
export { createSqliteJobStore } from './job-store.ts';
export {
  createSqliteMessageQueue,
  type SqliteMessageQueue,
  type SqliteMessageQueueOptions,
} from './message-queue.ts';
export { createFileObjectStore } from './object-store.ts';
export { createSqliteTenantDirectory } from './tenant-directory.ts';
export { createSqliteUsageLedger, type SqliteUsageLedger } from './usage-ledger.ts';
