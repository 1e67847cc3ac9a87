import { beforeAll } from 'vitest';
import {
  createAwsStoreProvider,
  createDynamoJobStore,
  createDynamoUsageLedger,
  createSqsMessageQueue,
  ensureUsageTable,
} from '../../src/adapters/aws/index.ts';
import { createSequencedJobIntake } from '../../src/ports/job-intake-sequence.ts';
import { awsContractFixture, describeAwsAdapterContracts } from './aws-adapters.ts';
import { describeJobIntakeContract } from './job-intake.contract.ts';
import { describeUsageLedgerContract } from './usage-ledger.contract.ts';

// One set of emulators (fauxqs: SQS and S3; dynalite: DynamoDB) for the file.
const fixture = awsContractFixture('inProcess');
let usageTable: string;
beforeAll(async () => {
  usageTable = `usage-${Math.random().toString(36).slice(2, 10)}`;
  await ensureUsageTable(fixture().aws.dynamo, usageTable);
});

describeAwsAdapterContracts(fixture, { sqs: 'fauxqs', dynamodb: 'dynalite', s3: 'fauxqs' });

describeJobIntakeContract('AWS (the sequence: DynamoDB on dynalite, then SQS on fauxqs)', async () => {
  const { aws, tables, bucket } = fixture();
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
    teardown: async () => undefined,
  };
});

describeUsageLedgerContract(
  'AWS (DynamoDB on dynalite)',
  async () => {
    const { aws, tables } = fixture();
    const port = createDynamoUsageLedger({ client: aws.dynamo, tableName: usageTable });
    return {
      port,
      jobs: createDynamoJobStore({ client: aws.dynamo, tableName: tables.jobs, usage: port }),
      meteringInto: (usage) => createDynamoJobStore({ client: aws.dynamo, tableName: tables.jobs, usage }),
      teardown: async () => undefined,
    };
  },
  { separateWrites: true },
);
