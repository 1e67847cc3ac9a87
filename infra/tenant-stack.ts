import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { dedicatedBucketName, dedicatedTableName } from '../src/adapters/aws/naming.ts';
import type { TenantId } from '../src/core/ids.ts';
import { dedicatedQueueName } from '../src/core/placement.ts';
import { WEBHOOK_QUEUE } from '../src/functions/webhook-message.ts';
import type { CodeSource, DedicatedTenantConfig } from './config.ts';
import { ModelLane } from './constructs/model-lane.ts';
import { tenantJobWidgets } from './constructs/tenant-widgets.ts';
import { ITEM_ACTIONS, keyedTable, platformNames } from './naming.ts';
import { acknowledgeTenant } from './suppressions.ts';

export interface TenantStackProps extends StackProps {
  /** Tenant stacks name their resources after account and Region: `env` is required. */
  env: { account: string; region: string };
  tenant: DedicatedTenantConfig;
  models: string[];
  code: CodeSource;
}

/** One dedicated tenant: its own key, table, bucket, queues and functions with reserved concurrency, and dashboard. */
export class TenantStack extends Stack {
  readonly lanes: ModelLane[] = [];

  constructor(scope: Construct, id: string, props: TenantStackProps) {
    super(scope, id, props);
    const { tenant, env } = props;
    const tenantId = tenant.id as TenantId;
    const names = platformNames(env.account, env.region);

    const key = new kms.Key(this, 'Key', {
      alias: `alias/silopool/tenant/${tenantId}`,
      description: `Silopool tenant ${tenantId}: table, bucket and queues`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The platform's API reads and writes this tenant's jobs and artifacts.
    const apiRole = iam.Role.fromRoleName(this, 'ApiRole', names.apiRole, { mutable: false });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ArnPrincipal(apiRole.roleArn)],
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*', 'kms:DescribeKey'],
        resources: ['*'],
      }),
    );

    const table = keyedTable(this, 'Table', dedicatedTableName(tenantId), key);
    const bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: dedicatedBucketName(tenantId, env.account, env.region),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const role = new iam.Role(this, 'ModelRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Model functions of dedicated tenant ${tenantId}: its own table, bucket and key only`,
    });
    // Explicit actions instead of grantReadWrite: no wildcard actions to justify.
    role.addToPolicy(new iam.PolicyStatement({ actions: ITEM_ACTIONS, resources: [table.tableArn] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [bucket.arnForObjects('tenants/*')],
      }),
    );
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [key.keyArn],
      }),
    );
    // The control plane's tenant directory (and webhook dedup items) and webhook queue, by name: no
    // cross-stack export pins the platform stack.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [`arn:${this.partition}:sqs:${this.region}:${this.account}:${WEBHOOK_QUEUE}`],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [
          `arn:${this.partition}:dynamodb:${this.region}:${this.account}:table/${names.tenantsTable}`,
        ],
      }),
    );

    const alarmTopic = sns.Topic.fromTopicArn(this, 'Alarms', names.alarmTopicArn);
    const environment = {
      // Dedicated functions read and write the tenant's own store, chosen by placement in the handler.
      SILOPOOL_TABLE: names.sharedTable,
      SILOPOOL_BUCKET: 'unused-by-dedicated-functions',
      SILOPOOL_TENANTS_TABLE: names.tenantsTable,
      SILOPOOL_ACCOUNT: env.account,
      SILOPOOL_TENANT_ID: tenantId,
      SILOPOOL_QUEUE_URL_PREFIX: `https://sqs.${env.region}.${this.urlSuffix}/${env.account}/`,
      POWERTOOLS_METRICS_NAMESPACE: 'Silopool',
    };
    for (const model of props.models) {
      this.lanes.push(
        new ModelLane(this, `Lane-${model}`, {
          queueName: dedicatedQueueName(tenantId, model),
          code: props.code,
          environment,
          memoryMb: tenant.memoryMb,
          timeoutSec: tenant.timeoutSec,
          reservedConcurrency: tenant.reservedConcurrency,
          role,
          encryptionKey: key,
          alarmTopic,
        }),
      );
    }

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `silopool-tenant-${tenantId}`,
    });
    dashboard.addWidgets(...tenantJobWidgets(tenantId));
    for (const lane of this.lanes) dashboard.addWidgets(...lane.widgets());
    acknowledgeTenant(this, { role, bucket, lanes: this.lanes });
  }
}
