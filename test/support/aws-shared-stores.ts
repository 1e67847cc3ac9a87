import { createDynamoJobStore } from '../../src/adapters/aws/job-store.ts';
import { createS3ObjectStore } from '../../src/adapters/aws/object-store.ts';
import { createDynamoTenantDirectory } from '../../src/adapters/aws/tenant-directory.ts';
import type { JobStore } from '../../src/ports/job-store.ts';
import type { StoreProvider } from '../../src/ports/stores.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import type { AwsEmulators } from './aws-emulators.ts';

/**
 * A tenant directory and one job table on the emulators, new tables each call, with a store provider
 * that answers that table for every placement: for functions that read tenants and job records and
 * write no objects (the provider's object store points at a bucket that does not exist).
 */
export async function sharedJobStores(
  aws: AwsEmulators,
): Promise<{ directory: TenantDirectory; jobStore: JobStore; stores: StoreProvider }> {
  const [tenantsTable, jobsTable] = await Promise.all([aws.createTable('tenants'), aws.createTable('jobs')]);
  const directory = createDynamoTenantDirectory({ client: aws.dynamo, tableName: tenantsTable });
  const jobStore = createDynamoJobStore({ client: aws.dynamo, tableName: jobsTable });
  const stores: StoreProvider = {
    jobs: () => jobStore,
    objects: () => createS3ObjectStore({ client: aws.s3, bucket: 'unused' }),
    provision: async () => undefined,
    destroy: async () => undefined,
    close: async () => undefined,
  };
  return { directory, jobStore, stores };
}
