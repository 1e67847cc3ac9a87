import { describe, it } from 'vitest';
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts';
import { awsContractFixture, describeAwsAdapterContracts } from './aws-adapters.ts';

// The AWS adapters' contract suites on moto_server (one for the file): SQS, DynamoDB and S3 as moto
// emulates them, a second opinion beside fauxqs/dynalite (test/contract/aws.test.ts). Skipped, saying so,
// only where moto_server is not installed.
if (!motoAvailable()) {
  describe('AWS adapters on moto', () => {
    it.skip(MOTO_MISSING, () => undefined);
  });
} else {
  describeAwsAdapterContracts(
    awsContractFixture('moto'),
    { sqs: 'moto', dynamodb: 'moto', s3: 'moto' },
    // moto deletes a message on an older receipt handle; SQS says it "might not be deleted".
    { ignoresStaleReceipts: false },
  );
}
