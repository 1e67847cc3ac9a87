import { afterAll, beforeAll } from 'vitest';
import {
  createAwsStoreProvider,
  createDynamoJobStore,
  createDynamoTenantDirectory,
  createDynamoUsageLedger,
  createS3ObjectStore,
  createSqsMessageQueue,
  ensureUsageTable,
  sqsCapabilities,
} from '../../src/adapters/aws/index.ts';
import { createDynamoReleasePointer } from '../../src/adapters/aws/release-pointer.ts';
import { createSequencedJobIntake } from '../../src/ports/job-intake-sequence.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { describeJobIntakeContract } from './job-intake.contract.ts';
import { describeJobStoreContract } from './job-store.contract.ts';
import { describeMessageQueueContract } from './message-queue.contract.ts';
import { describeObjectStoreContract } from './object-store.contract.ts';
import { describeReleasePointerContract } from './release-pointer.contract.ts';
import { describeTenantDirectoryContract } from './tenant-directory.contract.ts';
import { describeUsageLedgerContract } from './usage-ledger.contract.ts';

// One set of emulators (fauxqs: SQS and S3; dynalite: DynamoDB) for the file; every test uses its own
// random queue names and tenant ids, as the suites do, so tests share no state.
let aws: AwsEmulators;
let tables: { jobs: string; tenants: string; dedup: string; usage: string };
let bucket: string;

beforeAll(async () => {
  aws = await startAwsEmulators();
  tables = {
    jobs: await aws.createTable('jobs'),
    tenants: await aws.createTable('tenants'),
    dedup: await aws.createTable('dedup'),
    usage: `usage-${Math.random().toString(36).slice(2, 10)}`,
  };
  await ensureUsageTable(aws.dynamo, tables.usage);
  bucket = await aws.createBucket('objects');
});
afterAll(() => aws.stop());

const noTeardown = async () => undefined;

describeMessageQueueContract('AWS (SQS on fauxqs)', async () => {
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
  };
});

describeJobStoreContract('AWS (DynamoDB on dynalite)', async () => ({
  port: createDynamoJobStore({ client: aws.dynamo, tableName: tables.jobs }),
  teardown: noTeardown,
}));

describeTenantDirectoryContract('AWS (DynamoDB on dynalite)', async () => ({
  port: createDynamoTenantDirectory({ client: aws.dynamo, tableName: tables.tenants }),
  teardown: noTeardown,
}));

// One table per test: the pointer is a single item. Each `open()` is another process with no cache.
describeReleasePointerContract('AWS (DynamoDB on dynalite)', async () => {
  const tableName = await aws.createTable('views');
  return {
    open: () => createDynamoReleasePointer({ client: aws.dynamo, tableName, cacheMs: 0 }),
    teardown: noTeardown,
  };
});

describeObjectStoreContract('AWS (S3 on fauxqs)', async () => ({
  port: createS3ObjectStore({ client: aws.s3, bucket }),
  teardown: noTeardown,
}));

describeJobIntakeContract('AWS (the sequence: DynamoDB on dynalite, then SQS on fauxqs)', async () => {
  const dedup = { client: aws.dynamo, tableName: tables.dedup };
  const queue = createSqsMessageQueue({ client: aws.sqs, dedup });
  const stores = createAwsStoreProvider({
    dynamo: aws.dynamo,
    s3: aws.s3,
    sharedTable: tables.jobs,
    sharedBucket: bucket,
    account: '000000000000',
    region: 'us-east-1',
    provisioning: 'create',
  });
  return {
    intake: createSequencedJobIntake({ stores, queue }),
    queue,
    jobsOf: (tenantId) => stores.jobs({ kind: 'shared' }).forTenant(tenantId),
    teardown: noTeardown,
  };
});

describeUsageLedgerContract('AWS (DynamoDB on dynalite)', async () => {
  const port = createDynamoUsageLedger({ client: aws.dynamo, tableName: tables.usage });
  return {
    port,
    jobs: createDynamoJobStore({ client: aws.dynamo, tableName: tables.jobs, usage: port }),
    teardown: noTeardown,
  };
});
