import {
  Aws,
  CfnCondition,
  CfnParameter,
  type CfnParameterProps,
  type CfnResource,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { tenantAlarmNames } from '../src/adapters/aws/naming.ts';
import {
  TENANT_STACK_PARAMETERS as P,
  TENANT_TAG,
  type TenantStackParameterName,
  tenantStackParameters,
} from '../src/adapters/aws/tenant-stack.ts';
import { TENANT_ID_PATTERN, type TenantId } from '../src/core/ids.ts';
import { dedicatedQueueNameOf } from '../src/core/placement.ts';
import { AWS_MIN_RESERVED_CONCURRENCY, FUNCTION_SETTING_RANGES } from '../src/core/tenant.ts';
import { NOTIFICATION_QUEUE } from '../src/functions/notification-message.ts';
import { WEBHOOK_QUEUE } from '../src/functions/webhook-message.ts';
import type { CodeSource, DedicatedTenantConfig } from './config.ts';
import { ModelLane } from './constructs/model-lane.ts';
import { tenantJobFailureAlarm, tenantJobWidgets } from './constructs/tenant-widgets.ts';
import { ITEM_ACTIONS, keyedTable, platformNames } from './naming.ts';
import { acknowledgeTenant } from './suppressions.ts';
import { announcementDedupStatement, ownViewStatement } from './tenant-grants.ts';

/** One tenant's stack for `cdk deploy`: the parameters default to that tenant's values. */
export interface TenantStackProps extends StackProps {
  /** Tenant stacks name their resources after account and Region: `env` is required. */
  env: { account: string; region: string };
  tenant: DedicatedTenantConfig;
  models: string[];
  code: CodeSource;
}

/**
 * The template the control plane instantiates per tenant with CloudFormation (infra/tenant-template.ts):
 * no defaults, environment-agnostic, the model code from the CodeBucket/CodeKey parameters.
 */
export interface TenantTemplateProps extends StackProps {
  template: true;
  models: string[];
}

/** Where the model functions' IAM role lives: the platform's tenant deployer role may only manage this path. */
export const TENANT_ROLE_PATH = '/silopool-tenant/';

/**
 * One dedicated tenant: its own key, table, bucket, queues and functions with reserved concurrency, and
 * dashboard. Every tenant-specific value is a parameter (src/adapters/aws/tenant-stack.ts names them), so
 * one synthesized template serves every tenant; built per tenant, the parameters default to its values.
 */
export class TenantStack extends Stack {
  readonly lanes: ModelLane[] = [];

  constructor(scope: Construct, id: string, props: TenantStackProps | TenantTemplateProps) {
    super(scope, id, props);
    const perTenant = 'template' in props ? undefined : props;
    const params = declareParameters(this, perTenant);
    const tenantId = params.tenantId.valueAsString as TenantId;
    const code = perTenant?.code ?? codeParameters(this);
    // In a contract Region the platform's resources (views, dedup table, announcement queues, API role) are
    // in the platform's Region: named with it. Its log bucket and alarm topic cannot serve another Region.
    const platformRegion = params.platformRegion.valueAsString;
    const names = platformNames(this.account, platformRegion);
    const inPlatformRegion = new CfnCondition(this, 'InPlatformRegion', {
      expression: Fn.conditionEquals(platformRegion, Aws.REGION),
    });
    // Every resource carries the parameter. A stack's own tags cannot be deploy-time values (they would be
    // a token's placeholder text): the control plane tags the stacks it creates, and per tenant it is the id.
    // CloudFormation's AWS::CloudWatch::Dashboard has no Tags property (cfn-lint E3002): it is left out.
    Tags.of(this).add(TENANT_TAG, tenantId, {
      excludeResourceTypes: ['aws:cdk:stack', 'AWS::CloudWatch::Dashboard'],
    });
    if (perTenant) this.tags.setTag(TENANT_TAG, perTenant.tenant.id);

    // DESTROY, not RETAIN: the control plane deletes a tenant's stack only after a demotion has copied and
    // verified the tenant's data elsewhere, or offboarding has exported it, and it empties the versioned
    // bucket first. Retained resources would keep their names, so a later promotion of the same tenant
    // would collide with them, and a move's "remove the data from the old place" step would leave data
    // behind. The key waits the shortest pending window (7 days) before deletion: time to notice a mistake.
    const key = new kms.Key(this, 'Key', {
      alias: `alias/silopool/tenant/${tenantId}`,
      description: `Silopool tenant ${tenantId}: table, bucket and queues`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
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

    const table = keyedTable(this, 'Table', params.tableName.valueAsString, {
      encryptionKey: key,
      removalPolicy: RemovalPolicy.DESTROY,
      jobs: true,
    });
    const bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: params.bucketName.valueAsString,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.DESTROY,
      // The platform's log bucket, by name, under the tenant's prefix (its policy admits dedicated buckets).
      serverAccessLogsBucket: s3.Bucket.fromBucketName(this, 'AccessLogs', names.accessLogsBucket),
      serverAccessLogsPrefix: `tenants/${tenantId}/`,
    });
    // S3 logs only to a bucket of the same Region: a contract Region's bucket logs nowhere (docs/aws.md).
    (bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride(
      'LoggingConfiguration',
      Fn.conditionIf(
        inPlatformRegion.logicalId,
        { DestinationBucketName: names.accessLogsBucket, LogFilePrefix: `tenants/${tenantId}/` },
        Aws.NO_VALUE,
      ),
    );

    const role = new iam.Role(this, 'ModelRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      path: TENANT_ROLE_PATH,
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
    // The platform's announcement queues (webhooks, user notifications), this tenant's view and their dedup
    // items, by name: no cross-stack export pins the platform stack. No grant on the tenant directory's table (every tenant's key hashes
    // and webhook secrets), nor on another tenant's view.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [WEBHOOK_QUEUE, NOTIFICATION_QUEUE].map(
          (queue) => `arn:${this.partition}:sqs:${platformRegion}:${this.account}:${queue}`,
        ),
      }),
    );
    role.addToPolicy(ownViewStatement(this, names.tenantViewsTable, tenantId, platformRegion));
    role.addToPolicy(announcementDedupStatement(this, names.dedupTable, undefined, platformRegion));

    const alarmTopic = sns.Topic.fromTopicArn(this, 'Alarms', names.alarmTopicArn);
    const environment = {
      // Dedicated functions read and write the tenant's own store, chosen by placement in the handler.
      SILOPOOL_TABLE: names.sharedTable,
      SILOPOOL_BUCKET: 'unused-by-dedicated-functions',
      SILOPOOL_TENANTS_TABLE: names.tenantsTable,
      SILOPOOL_TENANT_VIEWS_TABLE: names.tenantViewsTable,
      SILOPOOL_DEDUP_TABLE: names.dedupTable,
      SILOPOOL_ACCOUNT: this.account,
      // The platform's Region, for the clients of its tables and queues (src/entry/aws-wiring.ts); the
      // tenant's own table, bucket and queues are found in the tenant's Region, this stack's.
      SILOPOOL_REGION: platformRegion,
      // The one Region besides the platform's its functions build clients for (`awsRegion`): this stack's.
      SILOPOOL_CONTRACT_REGIONS: this.region,
      SILOPOOL_TENANT_ID: tenantId,
      // The platform stack always deploys `system_notifications` and its function (user-notifications.ts).
      SILOPOOL_NOTIFICATIONS: 'on',
      SILOPOOL_QUEUE_URL_PREFIX: `https://sqs.${platformRegion}.${this.urlSuffix}/${this.account}/`,
      POWERTOOLS_METRICS_NAMESPACE: 'Silopool',
    };
    const alarmNames = tenantAlarmNames(tenantId, props.models);
    tenantJobFailureAlarm(this, alarmNames.jobFailures, tenantId).addAlarmAction(
      new actions.SnsAction(alarmTopic),
    );
    for (const model of props.models) {
      this.lanes.push(
        new ModelLane(this, `Lane-${model}`, {
          queueName: dedicatedQueueNameOf(tenantId, model),
          code,
          environment,
          memoryMb: params.memoryMb.valueAsNumber,
          timeoutSec: params.timeoutSec.valueAsNumber,
          visibilityTimeoutSec: params.queueVisibilityTimeoutSec.valueAsNumber,
          reservedConcurrency: params.reservedConcurrency.valueAsNumber,
          role,
          encryptionKey: key,
          alarmTopic,
          deadLettersAlarmName: alarmNames.deadLetters[model] as string,
        }),
      );
    }

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `silopool-tenant-${tenantId}`,
    });
    // Optional: $3 a month each; the control plane leaves it out above TENANT_DASHBOARDS_UP_TO tenants.
    const withDashboard = new CfnCondition(this, 'WithDashboard', {
      expression: Fn.conditionEquals(params.dashboard.valueAsString, 'true'),
    });
    (dashboard.node.defaultChild as CfnResource).cfnOptions.condition = withDashboard;
    dashboard.addWidgets(...tenantJobWidgets(tenantId));
    for (const lane of this.lanes) dashboard.addWidgets(...lane.widgets());
    // An alarm's SNS action must be in its own Region: in a contract Region the alarms only change state
    // (the upgrade reads them there, src/adapters/aws/release-alarms.ts).
    for (const alarm of this.node.findAll())
      if (alarm instanceof cloudwatch.CfnAlarm && alarm.alarmActions !== undefined)
        alarm.addPropertyOverride(
          'AlarmActions',
          Fn.conditionIf(inPlatformRegion.logicalId, alarm.alarmActions, Aws.NO_VALUE),
        );
    acknowledgeTenant(this, { role, bucket, lanes: this.lanes });
  }
}

type TenantParameters = { [K in Exclude<keyof typeof P, 'codeBucket' | 'codeKey'>]: CfnParameter };

/** The stack's parameters but the code's, named by the contract; per tenant they default to its values. */
function declareParameters(stack: Stack, perTenant: TenantStackProps | undefined): TenantParameters {
  const defaults = perTenant
    ? tenantStackParameters({
        tenantId: perTenant.tenant.id as TenantId,
        settings: perTenant.tenant,
        account: perTenant.env.account,
        region: perTenant.env.region,
        code: { bucket: '', key: '' }, // not declared per tenant
      })
    : undefined;
  const declare = (name: TenantStackParameterName, props: CfnParameterProps) => {
    const fallback = defaults?.[name];
    const value =
      fallback === undefined ? {} : { default: props.type === 'Number' ? Number(fallback) : fallback };
    return new CfnParameter(stack, name, { ...props, ...value });
  };
  const number = (description: string, minValue: number, maxValue: number): CfnParameterProps => ({
    type: 'Number',
    description,
    minValue,
    maxValue,
  });
  // CloudFormation matches AllowedPattern against the whole value: the anchors are implied.
  const unanchored = (pattern: RegExp) => pattern.source.replace(/^\^/, '').replace(/\$$/, '');
  return {
    tenantId: declare(P.tenantId, {
      type: 'String',
      description: 'The dedicated tenant',
      allowedPattern: unanchored(TENANT_ID_PATTERN),
      constraintDescription:
        'lowercase letters, digits and hyphens, 2 to 63 characters, not starting with a hyphen',
    }),
    // The prefixes the platform's tenant deployer role is scoped to (infra/constructs/tenant-provisioning.ts).
    tableName: declare(P.tableName, {
      type: 'String',
      description: "The tenant's DynamoDB table (src/adapters/aws/naming.ts)",
      allowedPattern: 'silopool-tenant-[a-z0-9-]+',
    }),
    bucketName: declare(P.bucketName, {
      type: 'String',
      description: "The tenant's S3 bucket (src/adapters/aws/naming.ts)",
      allowedPattern: 'silopool-[a-z0-9-]+',
      maxLength: 63,
    }),
    reservedConcurrency: declare(
      P.reservedConcurrency,
      number(
        "Reserved concurrent executions of each model function, also its event source's maximum concurrency",
        AWS_MIN_RESERVED_CONCURRENCY,
        FUNCTION_SETTING_RANGES.reservedConcurrency.maximum ?? 1000,
      ),
    ),
    memoryMb: declare(P.memoryMb, number('Memory of each model function (MB)', 128, 10240)),
    timeoutSec: declare(P.timeoutSec, number('Timeout of each model function (seconds)', 1, 900)),
    dashboard: declare(P.dashboard, {
      type: 'String',
      description: "The tenant's own CloudWatch dashboard",
      allowedValues: ['true', 'false'],
    }),
    queueVisibilityTimeoutSec: declare(
      P.queueVisibilityTimeoutSec,
      number('Visibility timeout of the model queues (seconds): six times TimeoutSec', 0, 43200),
    ),
    platformRegion: declare(P.platformRegion, {
      type: 'String',
      description: "The platform's Region: its tenant views, dedup table and announcement queues",
      allowedPattern: '[a-z]{2}(-[a-z]+)+-[0-9]',
    }),
  };
}

/**
 * The template's model code: the platform's published model bundle. Only the template declares these:
 * per tenant the code is an asset, whose bootstrap-bucket location a parameter default cannot name.
 */
function codeParameters(stack: Stack): CodeSource {
  const bucket = new CfnParameter(stack, P.codeBucket, {
    type: 'String',
    description: "The model bundle's S3 bucket",
  });
  const key = new CfnParameter(stack, P.codeKey, {
    type: 'String',
    description: "The model bundle's S3 key",
  });
  return { kind: 'bucket', bucket: bucket.valueAsString, key: key.valueAsString };
}
