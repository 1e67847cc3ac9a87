export type { JobStore, TenantJobStore, ListJobsQuery, JobPage, IdempotencyRecord } from './job-store.ts';
export { nextVersion } from './job-store.ts';
export type {
  MessageQueue,
  QueueSettings,
  SendMessage,
  ReceivedMessage,
  ReceiveOptions,
  QueueDepth,
} from './message-queue.ts';
export { deadLetterQueueName } from './message-queue.ts';
export type { ObjectStore, TenantObjectStore, StoredObject, ObjectInfo, ObjectPage } from './object-store.ts';
export { scopeObjects, tenantPrefix } from './object-store.ts';
export type { TenantDirectory, TenantPage } from './tenant-directory.ts';
export type { StoreProvider, TenantData } from './stores.ts';
export { tenantDataAt } from './stores.ts';
