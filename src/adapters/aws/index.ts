export { createDynamoBillingItems } from './billing-items.ts';
export { createDynamoJobStore, type DynamoJobStoreOptions, tenantPartitionKey } from './job-store.ts';
export { createSqsMessageQueue, type SqsMessageQueueOptions, sqsCapabilities } from './message-queue.ts';
export { dedicatedBucketName, dedicatedTableName, tenantStackName } from './naming.ts';
export { createS3ObjectStore, type S3ObjectStoreOptions } from './object-store.ts';
export { type AwsStoreProviderOptions, createAwsStoreProvider } from './stores.ts';
export { createDynamoTenantDirectory, type DynamoTenantDirectoryOptions } from './tenant-directory.ts';
export { assumeTenantScope, type TenantScopeCredentials, tenantSessionPolicy } from './tenant-scope.ts';
export {
  createDynamoUsageLedger,
  type DynamoUsageLedgerOptions,
  ensureUsageTable,
  USAGE_DAY_INDEX,
  usageTableInput,
} from './usage-ledger.ts';
