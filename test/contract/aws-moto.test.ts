import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  createDynamoJobStore,
  createDynamoTenantDirectory,
  createS3ObjectStore,
  createSqsMessageQueue,
  sqsCapabilities,
} from '../../src/adapters/aws/index.ts';
import { createDynamoReleasePointer } from '../../src/adapters/aws/release-pointer.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts';
import { describeJobStoreContract } from './job-store.contract.ts';
import { describeMessageQueueContract } from './message-queue.contract.ts';
import { describeObjectStoreContract } from './object-store.contract.ts';
import { describeReleasePointerContract } from './release-pointer.contract.ts';
import { describeTenantDirectoryContract } from './tenant-directory.contract.ts';

// The AWS adapters' contract suites on moto_server (one for the file): SQS, DynamoDB and S3 as moto
// emulates them, a second opinion beside fauxqs/dynalite (test/contract/aws.test.ts). Skipped, saying so,
// only where moto_server is not installed.
const available = motoAvailable();
let aws: AwsEmulators;
let tables: { jobs: string; tenants: string; dedup: string };
let bucket: string;

if (!available) {
  describe('AWS adapters on moto', () => {
    it.skip(MOTO_MISSING, () => undefined);
  });
} else {
  beforeAll(async () => {
    aws = await startAwsEmulators({ backend: 'moto' });
    tables = {
      jobs: await aws.createTable('jobs'),
      tenants: await aws.createTable('tenants'),
      dedup: await aws.createTable('dedup'),
    };
    bucket = await aws.createBucket('objects');
  }, 60_000);
  afterAll(() => aws?.stop());

  const noTeardown = async () => undefined;

  describeMessageQueueContract('AWS (SQS on moto)', async () => {
    const dedup = { client: aws.dynamo, tableName: tables.dedup };
    return {
      port: createSqsMessageQueue({ client: aws.sqs, dedup }),
      teardown: noTeardown,
      ...sqsCapabilities({ dedup }),
      exactDeadLetterTiming: false,
      orderedGroups: false,
      fairness: false,
      depthByGroup: false,
      atomicBatch: false,
      // moto deletes a message on an older receipt handle; SQS says it "might not be deleted".
      ignoresStaleReceipts: false,
    };
  });

  describeJobStoreContract('AWS (DynamoDB on moto)', async () => ({
    port: createDynamoJobStore({ client: aws.dynamo, tableName: tables.jobs }),
    teardown: noTeardown,
  }));

  describeTenantDirectoryContract('AWS (DynamoDB on moto)', async () => ({
    port: createDynamoTenantDirectory({ client: aws.dynamo, tableName: tables.tenants }),
    teardown: noTeardown,
  }));

  // One table per test: the pointer is a single item. Each `open()` is another process with no cache.
  describeReleasePointerContract('AWS (DynamoDB on moto)', async () => {
    const tableName = await aws.createTable('views');
    return {
      open: () => createDynamoReleasePointer({ client: aws.dynamo, tableName, cacheMs: 0 }),
      teardown: noTeardown,
    };
  });

  describeObjectStoreContract('AWS (S3 on moto)', async () => ({
    port: createS3ObjectStore({ client: aws.s3, bucket }),
    teardown: noTeardown,
  }));
}
