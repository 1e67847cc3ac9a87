import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { QUEUED_INDEX } from '../src/adapters/aws/job-store.ts';
import { OPERATION_INDEXES } from '../src/adapters/aws/operation-store.ts';

/** Fixed names the platform and the tenant stacks (and the runtime) agree on without cross-stack exports. */
export function platformNames(account: string, region: string) {
  return {
    /** The tenant directory: records with API key hashes and webhook secrets; operations. Control plane only. */
    tenantsTable: 'silopool-tenants',
    /** Tenant views without secrets (not `silopool-tenant-…`: dedicated tables' pattern), pk `TENANT#{id}` (src/adapters/aws/tenant-views.ts): what functions read. */
    tenantViewsTable: 'silopool-views',
    /** Queue dedup items `DEDUP#{queue}` (src/adapters/aws/message-queue-dedup.ts), expiring by TTL. */
    dedupTable: 'silopool-dedup',
    usageTable: 'silopool-usage',
    sharedTable: 'silopool-shared',
    apiRole: `silopool-api-${region}`,
    sharedModelRole: `silopool-shared-model-${region}`,
    tenantScopeRole: `silopool-tenant-scope-${region}`,
    tenantDeployerRole: `silopool-tenant-deployer-${region}`,
    /**
     * Server access logs of every bucket. Not `silopool-…`: the dedicated-bucket grants match
     * `silopool-*-{account}-{region}` (src/adapters/aws/naming.ts), which this name must never match.
     */
    accessLogsBucket: `logs-silopool-${account}-${region}`,
    alarmTopic: 'silopool-alarms',
    alarmTopicArn: `arn:aws:sns:${region}:${account}:silopool-alarms`,
  };
}

export interface KeyedTableOptions {
  /** A customer managed key; AWS managed encryption otherwise. */
  encryptionKey?: kms.IKey;
  /** RETAIN unless the caller deletes the data some other, verified way (tenant stacks). */
  removalPolicy?: RemovalPolicy;
  /** Tables holding jobs: the sparse `queued` index admission counts waiting jobs with. */
  jobs?: boolean;
  /** The control-plane table: the sparse operation indexes (running ones; by tenant). */
  operations?: boolean;
}

/** A table keyed `pk`/`sk` like every Silopool table: on demand, point-in-time recovery, TTL on `expiresAt`. */
export function keyedTable(
  scope: Construct,
  id: string,
  tableName: string,
  options: KeyedTableOptions = {},
): dynamodb.Table {
  const key = options.encryptionKey;
  const table = new dynamodb.Table(scope, id, {
    tableName,
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: 'expiresAt',
    ...(key
      ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: key }
      : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
    removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
  });
  // The same index as `jobTableInput` (src/adapters/aws/stores.ts) creates on emulators.
  if (options.jobs) {
    table.addGlobalSecondaryIndex({
      indexName: QUEUED_INDEX.name,
      partitionKey: { name: QUEUED_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: QUEUED_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
  }
  if (options.operations) {
    for (const index of Object.values(OPERATION_INDEXES)) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
  return table;
}

/** Item-level DynamoDB actions: no Scan (it carries no partition key, so LeadingKeys cannot limit it). */
export const ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];
