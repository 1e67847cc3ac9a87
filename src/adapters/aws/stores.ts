import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  HeadBucketCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UnavailableError } from '../../core/errors.ts';
import type { StoreRef } from '../../core/placement.ts';
import type { JobStore } from '../../ports/job-store.ts';
import type { ObjectStore } from '../../ports/object-store.ts';
import type { StoreProvider } from '../../ports/stores.ts';
import { createDynamoJobStore } from './job-store.ts';
import { dedicatedBucketName, dedicatedTableName } from './naming.ts';
import { createS3ObjectStore } from './object-store.ts';

export interface AwsStoreProviderOptions {
  dynamo: DynamoDBDocumentClient;
  s3: S3Client;
  sharedTable: string;
  sharedBucket: string;
  account: string;
  region: string;
  /**
   * `verify` (on AWS): a dedicated tenant's table and bucket come from its TenantStack; provision only
   * checks they exist. `create` (emulators, development): provision creates them.
   */
  provisioning: 'verify' | 'create';
}

/** The shared table and bucket, and each dedicated tenant's own, found by name (see `naming.ts`). */
export function createAwsStoreProvider(options: AwsStoreProviderOptions): StoreProvider {
  const { dynamo, s3 } = options;
  const jobStores = new Map<string, JobStore>();
  const objectStores = new Map<string, ObjectStore>();
  const tableOf = (ref: StoreRef) =>
    ref.kind === 'shared' ? options.sharedTable : dedicatedTableName(ref.tenantId);
  const bucketOf = (ref: StoreRef) =>
    ref.kind === 'shared'
      ? options.sharedBucket
      : dedicatedBucketName(ref.tenantId, options.account, options.region);

  async function tableExists(name: string): Promise<boolean> {
    try {
      const out = await dynamo.send(new DescribeTableCommand({ TableName: name }));
      return out.Table?.TableStatus === 'ACTIVE';
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return false;
      throw error;
    }
  }

  async function bucketExists(name: string): Promise<boolean> {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: name }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchBucket') return false;
      throw error;
    }
  }

  return {
    jobs(ref) {
      const table = tableOf(ref);
      const store = jobStores.get(table) ?? createDynamoJobStore({ client: dynamo, tableName: table });
      jobStores.set(table, store);
      return store;
    },
    objects(ref) {
      const bucket = bucketOf(ref);
      const store = objectStores.get(bucket) ?? createS3ObjectStore({ client: s3, bucket });
      objectStores.set(bucket, store);
      return store;
    },
    async provision(ref) {
      if (ref.kind === 'shared') return;
      const table = tableOf(ref);
      const bucket = bucketOf(ref);
      if (options.provisioning === 'verify') {
        if (!(await tableExists(table)) || !(await bucketExists(bucket))) {
          throw new UnavailableError(
            `Tenant ${ref.tenantId}'s table ${table} or bucket ${bucket} does not exist yet: deploy its TenantStack first.`,
          );
        }
        return;
      }
      if (!(await tableExists(table))) {
        await dynamo.send(
          new CreateTableCommand({
            TableName: table,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: [
              { AttributeName: 'pk', AttributeType: 'S' },
              { AttributeName: 'sk', AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
          }),
        );
        for (let i = 0; i < 100 && !(await tableExists(table)); i++)
          await new Promise((r) => setTimeout(r, 50));
      }
      if (!(await bucketExists(bucket))) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    },
    async destroy(ref) {
      if (ref.kind === 'shared') return;
      // On AWS the TenantStack owns the table and bucket; deleting the stack removes them.
      if (options.provisioning === 'verify') return;
      const table = tableOf(ref);
      const bucket = bucketOf(ref);
      if (await tableExists(table)) await dynamo.send(new DeleteTableCommand({ TableName: table }));
      if (await bucketExists(bucket)) {
        const objects = this.objects(ref);
        for (let page = await objects.list(''); page.items.length > 0; page = await objects.list('')) {
          for (const item of page.items) await objects.delete(item.key);
        }
        await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      }
      jobStores.delete(table);
      objectStores.delete(bucket);
    },
    async close() {
      jobStores.clear();
      objectStores.clear();
    },
  };
}
