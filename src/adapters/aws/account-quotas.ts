import { createHash, createHmac } from 'node:crypto';
import {
  type CloudFormationClient,
  DescribeAccountLimitsCommand,
  ListStacksCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { SignatureV4 } from '@smithy/signature-v4';

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

const LIVE_STACKS: StackStatus[] = [
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

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytesOf = (data: SourceData): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** node:crypto behind the hash interface SignatureV4 takes. */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret ? createHmac('sha256', bytesOf(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/**
 * The quotas of the account the CloudFormation client's credentials belong to. Lambda's GetAccountSettings is
 * one signed GET (`/2016-08-19/account-settings/`); the project carries no Lambda client for it.
 */
export function createAwsAccountQuotas(options: {
  cloudFormation: CloudFormationClient;
  region: string;
  /** Default `https://lambda.{region}.amazonaws.com` (AWS_ENDPOINT_URL_LAMBDA overrides it). */
  lambdaEndpoint?: string;
}): AccountQuotas {
  const { cloudFormation, region } = options;
  const endpoint = new URL(options.lambdaEndpoint ?? `https://lambda.${region}.amazonaws.com`);

  async function unreservedConcurrency(): Promise<number> {
    const signer = new SignatureV4({
      credentials: cloudFormation.config.credentials,
      region,
      service: 'lambda',
      sha256: Sha256,
    });
    const request = await signer.sign({
      method: 'GET',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: '/2016-08-19/account-settings/',
      headers: { host: endpoint.host },
    });
    const res = await fetch(new URL('/2016-08-19/account-settings/', endpoint), {
      headers: request.headers,
    });
    const body = (await res.json()) as { AccountLimit?: { UnreservedConcurrentExecutions?: number } };
    const value = body.AccountLimit?.UnreservedConcurrentExecutions;
    if (!res.ok || typeof value !== 'number')
      throw new Error(`Lambda GetAccountSettings answered ${res.status}: ${JSON.stringify(body)}`);
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
