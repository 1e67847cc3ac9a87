import {
  type CloudFormationClient,
  DescribeAccountLimitsCommand,
  ListStacksCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { awsClientConfig } from './client-config.ts';

/** Lambda keeps this many concurrent executions unreserved; reservations can use only the rest. */
export const UNRESERVED_MINIMUM = 100;

/** What one account and Region has left for dedicated tenants, read before a tenant's stack is deployed. */
export interface AccountQuotaReading {
  /** Lambda GetAccountSettings `AccountLimit.UnreservedConcurrentExecutions`. */
  unreservedConcurrency: number;
  /** Stacks that exist (ListStacks, every status but DELETE_COMPLETE). */
  stacks: number;
  /** CloudFormation DescribeAccountLimits `StackLimit`. */
  stackLimit: number;
}

export interface AccountQuotas {
  read(): Promise<AccountQuotaReading>;
}

/** A dedicated tenant's stack would not fit the account's quotas: the message says which and by how much. */
export class AccountQuotaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountQuotaError';
  }
}

/**
 * Throws AccountQuotaError unless a new stack reserving `reservedConcurrency` executions fits: Lambda refuses a
 * reservation that leaves fewer than 100 executions unreserved (Lambda Developer Guide, "Configuring reserved
 * concurrency"), and CloudFormation refuses stacks beyond StackLimit. Checked before CreateStack, as AWS SaaS
 * Boost checks quotas before onboarding, so the operation fails at once with the reason instead of minutes
 * later with a rolled-back stack.
 */
export function checkTenantFits(
  reading: AccountQuotaReading,
  need: { reservedConcurrency: number; stacks: number },
): void {
  const left = reading.unreservedConcurrency - need.reservedConcurrency;
  if (left < UNRESERVED_MINIMUM) {
    throw new AccountQuotaError(
      `Reserving ${need.reservedConcurrency} concurrent executions would leave ${left} unreserved; Lambda keeps at least ${UNRESERVED_MINIMUM}. Ask for a higher "Concurrent executions" quota or lower the tenant's reserved concurrency.`,
    );
  }
  if (reading.stacks + need.stacks > reading.stackLimit) {
    throw new AccountQuotaError(
      `The account has ${reading.stacks} of its ${reading.stackLimit} CloudFormation stacks; the tenant needs ${need.stacks} more. Ask for a higher stack quota or use another account.`,
    );
  }
}

/** Every stack status but DELETE_COMPLETE: the stacks that exist (and count toward the account's limit). */
export const LIVE_STACKS: StackStatus[] = [
  'CREATE_IN_PROGRESS',
  'CREATE_FAILED',
  'CREATE_COMPLETE',
  'ROLLBACK_IN_PROGRESS',
  'ROLLBACK_FAILED',
  'ROLLBACK_COMPLETE',
  'DELETE_IN_PROGRESS',
  'DELETE_FAILED',
  'UPDATE_IN_PROGRESS',
  'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_IN_PROGRESS',
  'UPDATE_ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS',
  'UPDATE_ROLLBACK_COMPLETE',
  'REVIEW_IN_PROGRESS',
  'IMPORT_IN_PROGRESS',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_IN_PROGRESS',
  'IMPORT_ROLLBACK_FAILED',
  'IMPORT_ROLLBACK_COMPLETE',
];

/** The quotas of the account the CloudFormation client's credentials belong to (same credentials and Region). */
export function createAwsAccountQuotas(options: {
  cloudFormation: CloudFormationClient;
  region: string;
  /** Default `https://lambda.{region}.amazonaws.com` (AWS_ENDPOINT_URL_LAMBDA overrides it). */
  lambdaEndpoint?: string;
}): AccountQuotas {
  const { cloudFormation, region } = options;

  const lambda = new LambdaClient({
    region,
    credentials: cloudFormation.config.credentials,
    ...(options.lambdaEndpoint ? { endpoint: options.lambdaEndpoint } : {}),
    ...awsClientConfig(),
  });

  async function unreservedConcurrency(): Promise<number> {
    const out = await lambda.send(new GetAccountSettingsCommand({}));
    const value = out.AccountLimit?.UnreservedConcurrentExecutions;
    if (typeof value !== 'number')
      throw new Error('Lambda GetAccountSettings has no AccountLimit.UnreservedConcurrentExecutions.');
    return value;
  }

  async function stackCount(): Promise<number> {
    let count = 0;
    let NextToken: string | undefined;
    do {
      const page = await cloudFormation.send(
        new ListStacksCommand({ StackStatusFilter: LIVE_STACKS, ...(NextToken ? { NextToken } : {}) }),
      );
      count += page.StackSummaries?.length ?? 0;
      NextToken = page.NextToken;
    } while (NextToken);
    return count;
  }

  async function stackLimit(): Promise<number> {
    const out = await cloudFormation.send(new DescribeAccountLimitsCommand({}));
    const limit = out.AccountLimits?.find((l) => l.Name === 'StackLimit')?.Value;
    if (typeof limit !== 'number') throw new Error('CloudFormation DescribeAccountLimits has no StackLimit.');
    return limit;
  }

  return {
    async read() {
      const [unreserved, stacks, limit] = await Promise.all([
        unreservedConcurrency(),
        stackCount(),
        stackLimit(),
      ]);
      return { unreservedConcurrency: unreserved, stacks, stackLimit: limit };
    },
  };
}
