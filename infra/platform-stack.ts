import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { sharedQueueName } from '../src/core/placement.ts';
import type { SilopoolInfraConfig } from './config.ts';
import { ControlFunction } from './constructs/control-function.ts';
import { DeadLetterSettler } from './constructs/dead-letter-settler.ts';
import { ModelLane } from './constructs/model-lane.ts';
import { platformAuthorizer } from './constructs/platform-auth.ts';
import { addPlatformDashboard } from './constructs/platform-dashboard.ts';
import { SilopoolFunction } from './constructs/silopool-function.ts';
import { TenantProvisioning } from './constructs/tenant-provisioning.ts';
import { UserNotifications } from './constructs/user-notifications.ts';
import { addWebhookDelivery } from './constructs/webhook-delivery.ts';
import { ITEM_ACTIONS, keyedTable, platformNames } from './naming.ts';
import { acknowledgePlatform } from './suppressions.ts';
import {
  announcementDedupStatement,
  dedicatedBucketsArn,
  inThisAccount,
  tenantRegionsOf,
} from './tenant-grants.ts';

export interface PlatformStackProps extends StackProps {
  config: SilopoolInfraConfig;
}

/** The API, the control plane, the shared lanes (one per model) and the shared table and bucket. */
export class PlatformStack extends Stack {
  readonly lanes: ModelLane[] = [];
  readonly api: apigw.HttpApi;

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    const { config } = props;
    const names = platformNames(this.account, this.region);
    // Where dedicated tenants' tables, buckets and queues may be: here and the configured contract Regions.
    const tenantRegions = tenantRegionsOf(this, config.contractRegions);
    const dedicatedTablesArns = tenantRegions.map(
      (r) => `arn:${this.partition}:dynamodb:${r}:${this.account}:table/silopool-tenant-*`,
    );

    const alarmTopic = new sns.Topic(this, 'Alarms', {
      topicName: names.alarmTopic,
      enforceSSL: true,
      masterKey: undefined,
    });

    // Control plane: the tenant directory (API key hashes, webhook secrets; operations) and usage. Functions
    // other than the control plane's read tenants from their views, in a table of their own, and write
    // queue dedup items into another: neither holds a secret, and the model roles have no grant here.
    const tenantsTable = keyedTable(this, 'TenantsTable', names.tenantsTable, { operations: true });
    const viewsTable = keyedTable(this, 'TenantViewsTable', names.tenantViewsTable);
    const dedupTable = keyedTable(this, 'DedupTable', names.dedupTable);
    const usageTable = keyedTable(this, 'UsageTable', names.usageTable);
    // Every tenant's usage records of a day (src/adapters/aws/usage-ledger.ts, USAGE_DAY_INDEX).
    usageTable.addGlobalSecondaryIndex({
      indexName: 'byDay',
      partitionKey: { name: 'day', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    });
    // Shared placement: every shared tenant's jobs, partitioned by `T#{tenantId}`.
    const sharedTable = keyedTable(this, 'SharedTable', names.sharedTable, { jobs: true });

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      bucketName: names.accessLogsBucket,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const sharedBucket = new s3.Bucket(this, 'SharedBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'shared/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30) },
        // An offboarded tenant's export is kept for its operator to download, then expires.
        { prefix: 'exports/', expiration: Duration.days(30) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const baseEnv = {
      SILOPOOL_TABLE: sharedTable.tableName,
      SILOPOOL_BUCKET: sharedBucket.bucketName,
      SILOPOOL_TENANTS_TABLE: tenantsTable.tableName,
      SILOPOOL_TENANT_VIEWS_TABLE: viewsTable.tableName,
      SILOPOOL_DEDUP_TABLE: dedupTable.tableName,
      SILOPOOL_USAGE_TABLE: usageTable.tableName,
      SILOPOOL_ACCOUNT: this.account,
      SILOPOOL_QUEUE_URL_PREFIX: `https://sqs.${this.region}.${this.urlSuffix}/${this.account}/`,
      POWERTOOLS_METRICS_NAMESPACE: 'Silopool',
      // Every function builds clients only for these and its own Region (src/core/region.ts, `awsRegion`).
      ...(tenantRegions.length > 1 ? { SILOPOOL_CONTRACT_REGIONS: tenantRegions.slice(1).join(',') } : {}),
    };

    // Shared model functions reach tenant data only through the tenant scope role, per message.
    const modelRole = new iam.Role(this, 'SharedModelRole', {
      roleName: names.sharedModelRole,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description:
        'Shared model functions: read tenants, consume shared queues, assume the tenant scope role',
    });
    const tenantScopeRole = new iam.Role(this, 'TenantScopeRole', {
      roleName: names.tenantScopeRole,
      assumedBy: new iam.ArnPrincipal(modelRole.roleArn).withSessionTags(),
      maxSessionDuration: Duration.hours(1),
      description: 'Assumed per message with a session policy narrowing it to one tenant (tenant-scope.ts)',
    });
    tenantScopeRole.addToPolicy(
      new iam.PolicyStatement({ actions: ITEM_ACTIONS, resources: [sharedTable.tableArn] }),
    );
    tenantScopeRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [sharedBucket.arnForObjects('tenants/*')],
      }),
    );
    tenantScopeRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [sharedBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['tenants/*'] } },
      }),
    );
    modelRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole', 'sts:TagSession'],
        resources: [tenantScopeRole.roleArn],
      }),
    );
    // Tenants' views (no key hashes, no webhook secret): every shared tenant's, as the function serves them all.
    modelRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [viewsTable.tableArn] }),
    );
    // Announcements (webhooks, user notifications) go through the platform's queues, deduplicated by items of their own.
    modelRole.addToPolicy(announcementDedupStatement(this, dedupTable));
    const webhooks = addWebhookDelivery(this, {
      code: config.code,
      environment: baseEnv,
      tenantsTable,
      sharedTable,
      dedicatedTablesArns,
      regions: tenantRegions,
      alarmTopic,
    });
    webhooks.queue.grantSendMessages(modelRole);

    // Email and Web Push to users: the model functions announce finished jobs to its queue.
    const notifications = new UserNotifications(this, 'UserNotifications', {
      tenantRegions,
      code: config.code,
      environment: baseEnv,
      ...(config.notifications ? { settings: config.notifications } : {}),
      viewsTable,
      dedupTable,
      sharedTable,
      sharedBucket,
      alarmTopic,
    });
    notifications.grantAnnounce(modelRole);

    for (const model of config.models) {
      const lane = new ModelLane(this, `Shared-${model}`, {
        queueName: sharedQueueName(model),
        code: config.code,
        environment: {
          ...baseEnv,
          SILOPOOL_TENANT_ROLE_ARN: tenantScopeRole.roleArn,
          SILOPOOL_NOTIFICATIONS: 'on',
        },
        memoryMb: 1024,
        timeoutSec: 300,
        role: modelRole,
        maxConcurrency: config.sharedMaxConcurrency,
        alarmTopic,
      });
      this.lanes.push(lane);
    }

    // The API: Fastify on Lambda behind an HTTP API with a JWT authorizer.
    const apiRole = new iam.Role(this, 'ApiRole', {
      roleName: names.apiRole,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description:
        'Silopool control plane (API and control functions): tenants, jobs, artifacts, model queues, tenant stacks',
    });
    tenantsTable.grantReadWriteData(apiRole);
    viewsTable.grantReadWriteData(apiRole);
    dedupTable.grantReadWriteData(apiRole);
    usageTable.grantReadWriteData(apiRole);
    sharedTable.grantReadWriteData(apiRole);
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        // tenants/: their data; exports/: offboarding exports (src/control/offboard-operation.ts).
        resources: [sharedBucket.arnForObjects('tenants/*'), sharedBucket.arnForObjects('exports/*')],
      }),
    );
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [sharedBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['tenants/*', 'exports/*'] } },
      }),
    );
    const queueArn = (pattern: string, region = this.region) =>
      `arn:${this.partition}:sqs:${region}:${this.account}:${pattern}`;
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage', 'sqs:GetQueueUrl', 'sqs:GetQueueAttributes'],
        resources: [
          queueArn('shared_*'),
          ...tenantRegions.map((r) => queueArn('tenant_*', r)),
          queueArn('system_*'),
        ],
      }),
    );
    // A redrive (the operator's, and an upgrade's rollback) moves a dead letter back to its lane: it reads it
    // (DeadLetterSettler's grant), sends it (above) and deletes it from the dead-letter queue.
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:DeleteMessage'],
        resources: [queueArn('shared_*-dlq'), ...tenantRegions.map((r) => queueArn('tenant_*-dlq', r))],
      }),
    );
    // Dedicated tenants' tables and buckets (their TenantStacks grant the key to this role by name).
    apiRole.addToPolicy(new iam.PolicyStatement({ actions: ITEM_ACTIONS, resources: dedicatedTablesArns }));
    // Dedicated buckets only, by the name their stacks get (`dedicatedBucketName`): `silopool-` … `-{account}-
    // {region}`. The shared bucket and the log bucket, whose names do not end so, are not matched.
    const dedicatedBuckets = dedicatedBucketsArn(this);
    const allDedicatedBuckets = tenantRegions.map((r) => dedicatedBucketsArn(this, r));
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: allDedicatedBuckets,
        conditions: inThisAccount(this),
      }),
    );
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: allDedicatedBuckets.map((b) => `${b}/tenants/*`),
        conditions: inThisAccount(this),
      }),
    );
    // Dedicated buckets log their access here (tenant-stack.ts), each under its own prefix.
    accessLogs.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [accessLogs.arnForObjects('tenants/*')],
        conditions: {
          ArnLike: { 'aws:SourceArn': dedicatedBuckets },
          StringEquals: { 'aws:SourceAccount': this.account },
        },
      }),
    );

    // Dedicated tenants are CloudFormation stacks the control plane creates and deletes itself, from the
    // tenant template published here, running the shared lanes' model bundle.
    const [firstLane] = this.lanes;
    if (!firstLane)
      throw new Error('The platform needs at least one model: the tenant template runs its code.');
    const provisioning = new TenantProvisioning(this, 'TenantProvisioning', {
      models: config.models,
      modelFunction: firstLane.fn.fn,
      controlPlaneRole: apiRole,
      contractRegions: config.contractRegions ?? [],
    });
    const controlPlaneEnv = { ...baseEnv, ...provisioning.environment };

    const auth = platformAuthorizer(this, config);
    const apiFunction = new SilopoolFunction(this, 'ApiFunction', {
      entry: 'api',
      code: config.code,
      // The API records placement moves (the control function drives them) and offers users the channels.
      environment: {
        ...controlPlaneEnv,
        ...auth.environment,
        ...notifications.channelEnvironment,
        SILOPOOL_MOVE_RUNNER: 'scheduled',
      },
      memoryMb: 1024,
      timeoutSec: 29,
      role: apiRole,
    });
    const control = new ControlFunction(this, 'Control', {
      code: config.code,
      role: apiRole,
      environment: controlPlaneEnv,
      alarmTopic,
    });
    const deadLetters = new DeadLetterSettler(this, 'DeadLetters', {
      tenantRegions,
      code: config.code,
      role: apiRole,
      // Settled jobs are announced to users too (the API role may send to `system_*` queues).
      environment: { ...controlPlaneEnv, SILOPOOL_NOTIFICATIONS: 'on' },
    });
    const accessLog = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
    });
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: 'silopool',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('ApiIntegration', apiFunction.fn),
      defaultAuthorizer: auth.authorizer,
    });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 500, burstLimit: 1000 },
    });
    const cfnStage = stage.node.defaultChild as apigw.CfnStage;
    cfnStage.accessLogSettings = {
      destinationArn: accessLog.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        latencyMs: '$context.responseLatency',
        sub: '$context.authorizer.claims.sub',
      }),
    };
    // Public routes: health, the login settings the web app reads, the OpenAPI docs.
    for (const path of ['/healthz', '/v1/auth/config', '/docs', '/docs/{proxy+}']) {
      this.api.addRoutes({
        path,
        methods: [apigw.HttpMethod.GET],
        integration: new HttpLambdaIntegration(`Public${path.replace(/\W/g, '')}`, apiFunction.fn),
        authorizer: new apigw.HttpNoneAuthorizer(),
      });
    }

    addPlatformDashboard(this, { lanes: this.lanes, tenantsTable, api: apiFunction, control: control.fn });
    acknowledgePlatform(this, {
      apiRole,
      modelRole,
      tenantScopeRole,
      apiFunction,
      webhookRole: webhooks.role,
      webhookFunction: webhooks.fn,
      notifications,
      controlFunction: control.fn,
      deadLetterFunction: deadLetters.fn,
      deployerRole: provisioning.deployerRole,
      artifactsBucket: provisioning.template.s3BucketName,
      lanes: this.lanes,
    });
    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'TenantScopeRoleArn', { value: tenantScopeRole.roleArn });
  }
}
