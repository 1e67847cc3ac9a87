export type { BillingItems } from './billing-items.ts';
export type { IdempotencyRecord, JobPage, JobStore, ListJobsQuery, TenantJobStore } from './job-store.ts';
export { nextVersion } from './job-store.ts';
export type {
  MessageQueue,
  QueueDepth,
  QueueSettings,
  ReceivedMessage,
  ReceiveOptions,
  SendMessage,
} from './message-queue.ts';
export { deadLetterQueueName } from './message-queue.ts';
export type { ObjectInfo, ObjectPage, ObjectStore, StoredObject, TenantObjectStore } from './object-store.ts';
export { scopeObjects, tenantPrefix } from './object-store.ts';
export type { StoreProvider, TenantData } from './stores.ts';
export { tenantDataAt } from './stores.ts';
export type { TenantDirectory, TenantPage } from './tenant-directory.ts';
export type { TenantUsageLedger, UsageLedger } from './usage-ledger.ts';
