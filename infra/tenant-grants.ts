import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RELEASE_POINTER_KEY } from '../src/adapters/aws/release-pointer.ts';
import { tenantViewKey } from '../src/adapters/aws/tenant-views.ts';
import type { TenantId } from '../src/core/ids.ts';
import { NOTIFICATION_QUEUE } from '../src/functions/notification-message.ts';
import { WEBHOOK_QUEUE } from '../src/functions/webhook-message.ts';

// Grants the platform stack and the tenant stacks share, so both scope a function role the same way.

/**
 * Dedicated buckets (src/adapters/aws/naming.ts `dedicatedBucketName`): `silopool-` … `-{account}-{region}`,
 * in the stack's Region or `region` (a contract Region). The platform's own buckets never match: the shared
 * bucket is named by CloudFormation (no account and Region at the end) and the log bucket does not start
 * with `silopool-`.
 */
export function dedicatedBucketsArn(scope: Stack, region: string = Stack.of(scope).region): string {
  const stack = Stack.of(scope);
  return `arn:${stack.partition}:s3:::silopool-*-${stack.account}-${region}`;
}

/**
 * The condition of every grant on S3 buckets named by pattern (dedicated buckets, the contract Regions' code
 * copies): the bucket belongs to this account. Bucket names are global, so anyone may make a bucket of such
 * a name in an account of their own (before a promotion, or once an offboarding freed it) with a policy that
 * lets every principal in; a grant by name alone would then write tenant data there, read its objects as
 * ours, or copy a model bundle there for tenants' functions to run. Bucket creation is left out: it cannot
 * take a name another account holds.
 */
export function inThisAccount(scope: Stack): Record<string, Record<string, string>> {
  return { StringEquals: { 'aws:ResourceAccount': Stack.of(scope).account } };
}

/**
 * Every Region dedicated tenants' stacks may live in: the platform's and its contract Regions (the
 * configured allow-list, never a wildcard), for the grants that follow tenants' resources there.
 */
export function tenantRegionsOf(scope: Stack, contractRegions: readonly string[] = []): string[] {
  const region = Stack.of(scope).region;
  return [region, ...contractRegions.filter((r) => r !== region)];
}

/**
 * A platform table's ARN. `platformRegion`: where the platform's tables are, from a tenant stack in a
 * contract Region (default: the stack's own Region).
 */
function tableArn(scope: Stack, table: dynamodb.ITable | string, platformRegion?: string): string {
  if (typeof table !== 'string') return table.tableArn;
  const stack = Stack.of(scope);
  return `arn:${stack.partition}:dynamodb:${platformRegion ?? stack.region}:${stack.account}:table/${table}`;
}

/**
 * Model functions send only announcements of finished jobs (src/functions/announcements.ts: webhooks and user
 * notifications), deduplicated by items `DEDUP#{queue}` (src/adapters/aws/message-queue-dedup.ts): those
 * partitions of the dedup table only.
 */
export function announcementDedupStatement(
  scope: Stack,
  table: dynamodb.ITable | string,
  queues: string[] = [WEBHOOK_QUEUE, NOTIFICATION_QUEUE],
  platformRegion?: string,
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    resources: [tableArn(scope, table, platformRegion)],
    conditions: leadingKeys(queues.map((queue) => `DEDUP#${queue}`)),
  });
}

/**
 * A dedicated tenant's functions read their own tenant's view and no other (src/adapters/aws/tenant-views.ts),
 * and the current-release pointer (src/adapters/aws/release-pointer.ts): a tenant without a release of its
 * own runs the current one.
 */
export function ownViewStatement(
  scope: Stack,
  viewsTable: string,
  tenantId: TenantId,
  platformRegion?: string,
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['dynamodb:GetItem'],
    resources: [tableArn(scope, viewsTable, platformRegion)],
    conditions: leadingKeys([tenantViewKey(tenantId), RELEASE_POINTER_KEY.pk]),
  });
}

/** Every partition key the request names is one of `pks`, and it names one (a request without one is denied). */
function leadingKeys(pks: string[]): Record<string, Record<string, unknown>> {
  return {
    'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': pks },
    Null: { 'dynamodb:LeadingKeys': 'false' },
  };
}
