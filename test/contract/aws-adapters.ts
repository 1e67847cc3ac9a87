import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import {
  createDynamoJobStore,
  createDynamoTenantDirectory,
  createS3ObjectStore,
  createSqsMessageQueue,
  sqsCapabilities,
} from '../../src/adapters/aws/index.ts';
import { createDynamoReleasePointer, RELEASE_POINTER_KEY } from '../../src/adapters/aws/release-pointer.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { describeJobStoreContract } from './job-store.contract.ts';
import { describeMessageQueueContract, type MessageQueueCapabilities } from './message-queue.contract.ts';
import { describeObjectStoreContract } from './object-store.contract.ts';
import { describeReleasePointerContract, NOT_JSON } from './release-pointer.contract.ts';
import { describeTenantDirectoryContract } from './tenant-directory.contract.ts';

/** The emulators of one test file, with the tables and bucket the AWS adapters' suites use. */
export interface AwsContractFixture {
  aws: AwsEmulators;
  tables: { jobs: string; tenants: string; dedup: string };
  bucket: string;
}

/**
 * Starts the emulators once for the file (`beforeAll`) with a jobs, tenants and dedup table and an
 * objects bucket, and stops them after it; the getter reads them inside tests and suites. Every test uses
 * its own random queue names and tenant ids, as the suites do, so tests share no state.
 */
export function awsContractFixture(backend: 'inProcess' | 'moto'): () => AwsContractFixture {
  let fixture: AwsContractFixture | undefined;
  beforeAll(async () => {
    const aws = await startAwsEmulators({ backend });
    fixture = {
      aws,
      tables: {
        jobs: await aws.createTable('jobs'),
        tenants: await aws.createTable('tenants'),
        dedup: await aws.createTable('dedup'),
      },
      bucket: await aws.createBucket('objects'),
    };
  }, 60_000);
  afterAll(() => fixture?.aws.stop());
  return () => {
    if (!fixture) throw new Error('the AWS emulators did not start');
    return fixture;
  };
}

const noTeardown = async () => undefined;

/**
 * The message queue, job store, tenant directory and object store suites against the AWS adapters on the
 * emulators of `fixture`. `emulated` names what serves each service (in the suites' titles); `queue`
 * overrides what the SQS adapter is held to there.
 */
export function describeAwsAdapterContracts(
  fixture: () => AwsContractFixture,
  emulated: { sqs: string; dynamodb: string; s3: string },
  queue: Partial<MessageQueueCapabilities> = {},
): void {
  describeMessageQueueContract(`AWS (SQS on ${emulated.sqs})`, async () => {
    const { aws, tables } = fixture();
    const dedup = { client: aws.dynamo, tableName: tables.dedup };
    return {
      port: createSqsMessageQueue({ client: aws.sqs, dedup }),
      teardown: noTeardown,
      ...sqsCapabilities({ dedup }),
      // SQS documents dead-lettering after maxReceiveCount, not on which receive exactly.
      exactDeadLetterTiming: false,
      // Standard queues have no order; fair queues spread groups server-side, out of the adapter's hands.
      orderedGroups: false,
      fairness: false,
      depthByGroup: false,
      // SendMessageBatch succeeds or fails per entry.
      atomicBatch: false,
      ...queue,
    };
  });

  describeJobStoreContract(`AWS (DynamoDB on ${emulated.dynamodb})`, async () => ({
    port: createDynamoJobStore({ client: fixture().aws.dynamo, tableName: fixture().tables.jobs }),
    teardown: noTeardown,
  }));

  describeTenantDirectoryContract(`AWS (DynamoDB on ${emulated.dynamodb})`, async () => ({
    port: createDynamoTenantDirectory({ client: fixture().aws.dynamo, tableName: fixture().tables.tenants }),
    teardown: noTeardown,
  }));

  describeObjectStoreContract(`AWS (S3 on ${emulated.s3})`, async () => ({
    port: createS3ObjectStore({ client: fixture().aws.s3, bucket: fixture().bucket }),
    teardown: noTeardown,
  }));

  // One table per test: the pointer is a single item. Each `open()` is another process with no cache.
  describeReleasePointerContract(`AWS (DynamoDB on ${emulated.dynamodb})`, async () => {
    const tableName = await fixture().aws.createTable('views');
    return {
      open: () => createDynamoReleasePointer({ client: fixture().aws.dynamo, tableName, cacheMs: 0 }),
      damage: async (value, ...counter) => {
        await fixture().aws.dynamo.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...RELEASE_POINTER_KEY,
              releaseId: value === NOT_JSON ? '{"id": "r-1"' : value,
              // No counter given: a sound one. Given as undefined: the attribute missing.
              ...(counter.length === 0
                ? { version: 1 }
                : counter[0] === undefined
                  ? {}
                  : { version: counter[0] }),
            },
          }),
        );
        return RELEASE_POINTER_KEY.pk;
      },
      teardown: noTeardown,
    };
  });
}
