import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { parseTenantId, type TenantId } from '../../core/ids.ts';
import { tenantPrefix } from '../../ports/object-store.ts';
import { tenantPartitionKey } from './job-store.ts';

/** An IAM policy document, as much of the grammar as the session policy uses. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface TenantScopeTarget {
  tenantId: TenantId;
  /** The shared table: its name or ARN. */
  table: string;
  bucket: string;
}

// No Scan, no PartiQL: requests without a partition key carry no dynamodb:LeadingKeys, and
// ForAllValues over an empty set is true. The Null condition below closes that gap as well.
const ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

function tableArn(table: string): string {
  return table.startsWith('arn:') ? table : `arn:aws:dynamodb:*:*:table/${table}`;
}

/**
 * The session policy that narrows the shared tenant role to one tenant: DynamoDB items whose partition
 * key is exactly `T#{tenantId}` and S3 objects under `tenants/{tenantId}/`. Exact matches and the `/`
 * delimiter mean tenant `a1` is denied `T#a1-x` and `tenants/a1-x/`.
 */
export function tenantSessionPolicy(target: TenantScopeTarget): PolicyDocument {
  const tenantId = parseTenantId(target.tenantId, '/tenantId');
  const prefix = tenantPrefix(tenantId);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TenantItems',
        Effect: 'Allow',
        Action: ITEM_ACTIONS,
        Resource: [tableArn(target.table)],
        Condition: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [tenantPartitionKey(tenantId)] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      },
      {
        Sid: 'TenantObjects',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        Resource: [`arn:aws:s3:::${target.bucket}/${prefix}*`],
      },
      {
        Sid: 'TenantListing',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [`arn:aws:s3:::${target.bucket}`],
        Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      },
    ],
  };
}

export interface TenantScopeCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/**
 * Assumes the shared tenant role with the tenant's session policy: the credentials can do no more than
 * both the role and the policy allow. The session is tagged with the tenant for CloudTrail.
 */
export async function assumeTenantScope(options: {
  sts: STSClient;
  roleArn: string;
  tenantId: TenantId;
  table: string;
  bucket: string;
  durationSec?: number;
}): Promise<TenantScopeCredentials> {
  const { sts, roleArn, tenantId, table, bucket } = options;
  const policy = tenantSessionPolicy({ tenantId, table, bucket });
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: roleArn,
      RoleSessionName: `t-${tenantId}`.slice(0, 64),
      Policy: JSON.stringify(policy),
      DurationSeconds: options.durationSec ?? 900,
      Tags: [{ Key: 'TenantId', Value: tenantId }],
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new Error(`STS returned no credentials for tenant ${tenantId}.`);
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration,
  };
}
