import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { sharedQueueName } from '../src/core/placement.ts';
import { WEBHOOK_QUEUE } from '../src/functions/webhook-message.ts';
import { deadLetterQueueName } from '../src/ports/message-queue.ts';
import type { SilopoolInfraConfig } from './config.ts';
import { ControlFunction } from './constructs/control-function.ts';
import { DeadLetterSettler } from './constructs/dead-letter-settler.ts';
import { ModelLane } from './constructs/model-lane.ts';
import { SilopoolFunction } from './constructs/silopool-function.ts';
import { TenantProvisioning } from './constructs/tenant-provisioning.ts';
import { tenantJobWidgets } from './constructs/tenant-widgets.ts';
import { UserNotifications } from './constructs/user-notifications.ts';
import { ITEM_ACTIONS, keyedTable, platformNames } from './naming.ts';
import { acknowledgePlatform } from './suppressions.ts';
import { announcementDedupStatement, dedicatedBucketsArn, tenantRegionsOf } from './tenant-grants.ts';

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
    const webhookDlq = new sqs.Queue(this, 'WebhooksDeadLetterQueue', {
      queueName: deadLetterQueueName(WEBHOOK_QUEUE),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const webhookTimeoutSec = 30;
    const webhooks = new sqs.Queue(this, 'Webhooks', {
      queueName: WEBHOOK_QUEUE,
      // AWS's guidance for SQS event sources: at least six times the function's timeout, so a batch retried
      // after a throttle is not visible again while an earlier invocation still works on it.
      visibilityTimeout: Duration.seconds(webhookTimeoutSec * 6),
      deadLetterQueue: { queue: webhookDlq, maxReceiveCount: 12 },
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    webhooks.grantSendMessages(modelRole);

    // Webhook delivery: reads tenants (URL, secret) and job records, posts signed notifications.
    const webhookRole = new iam.Role(this, 'WebhookRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Silopool webhook delivery: reads tenants and job records',
    });
    // GetItem only: the tenant's record (its webhook secret) and the job's; no listing of either table.
    webhookRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [tenantsTable.tableArn, sharedTable.tableArn],
      }),
    );
    webhookRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: dedicatedTablesArns,
      }),
    );
    const webhookFunction = new SilopoolFunction(this, 'WebhookFunction', {
      entry: 'webhooks',
      code: config.code,
      environment: baseEnv,
      memoryMb: 256,
      timeoutSec: webhookTimeoutSec,
      role: webhookRole,
    });
    webhookFunction.fn.addEventSource(
      new SqsEventSource(webhooks, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }),
    );
    new cloudwatch.Alarm(this, 'WebhookDeadLettersAlarm', {
      alarmDescription:
        'Webhook notifications were dead-lettered after 12 failed deliveries: check the tenants’ endpoints.',
      metric: webhookDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new actions.SnsAction(alarmTopic));

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
        resources: [queueArn('shared_*-dlq'), queueArn('tenant_*-dlq')],
      }),
    );
    // Dedicated tenants' tables and buckets (their TenantStacks grant the key to this role by name).
    apiRole.addToPolicy(new iam.PolicyStatement({ actions: ITEM_ACTIONS, resources: dedicatedTablesArns }));
    // Dedicated buckets only, by the name their stacks get (`dedicatedBucketName`): `silopool-` … `-{account}-
    // {region}`. The shared bucket and the log bucket, whose names do not end so, are not matched.
    const dedicatedBuckets = dedicatedBucketsArn(this);
    const allDedicatedBuckets = tenantRegions.map((r) => dedicatedBucketsArn(this, r));
    apiRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: allDedicatedBuckets }),
    );
    apiRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: allDedicatedBuckets.map((b) => `${b}/tenants/*`),
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

    const auth = this.authorizer(config);
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

    this.dashboard(tenantsTable, apiFunction, control.fn);
    acknowledgePlatform(this, {
      apiRole,
      modelRole,
      tenantScopeRole,
      apiFunction,
      webhookRole,
      webhookFunction,
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

  private authorizer(config: SilopoolInfraConfig): {
    authorizer: apigw.IHttpRouteAuthorizer;
    environment: Record<string, string>;
  } {
    if (config.auth.kind === 'oidc') {
      const { issuer, audience, jwksUrl } = config.auth;
      return {
        authorizer: new HttpJwtAuthorizer('JwtAuthorizer', issuer, { jwtAudience: audience }),
        environment: {
          SILOPOOL_OIDC_ISSUER: issuer,
          SILOPOOL_OIDC_CLIENT_ID: audience[0] ?? '',
          ...(jwksUrl ? { SILOPOOL_OIDC_JWKS_URL: jwksUrl } : {}),
          SILOPOOL_OIDC_TENANTS_CLAIM: 'tenants',
          SILOPOOL_OIDC_ROLES_CLAIM: 'roles',
        },
      };
    }
    const userPool = new cognito.UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
      },
      customAttributes: { tenants: new cognito.StringAttribute({ mutable: true, maxLen: 2048 }) },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    new cognito.CfnUserPoolGroup(this, 'OperatorGroup', {
      userPoolId: userPool.userPoolId,
      groupName: 'operator',
    });
    // Explicit attributes: without writeAttributes a client lets users write every mutable attribute,
    // `custom:tenants` (which tenants a token grants) included. Only operators set it (AdminUpdateUserAttributes,
    // which ignores client settings); roles come from groups, which users cannot join themselves.
    const standard = { email: true, fullname: true };
    const client = userPool.addClient('WebClient', {
      authFlows: { userSrp: true },
      generateSecret: false,
      readAttributes: new cognito.ClientAttributes()
        .withStandardAttributes({ ...standard, emailVerified: true })
        .withCustomAttributes('tenants'),
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes(standard),
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
      },
    });
    const issuer = `https://cognito-idp.${this.region}.amazonaws.com/${userPool.userPoolId}`;
    return {
      authorizer: new HttpUserPoolAuthorizer('UserPoolAuthorizer', userPool, { userPoolClients: [client] }),
      environment: { SILOPOOL_OIDC_ISSUER: issuer, SILOPOOL_OIDC_CLIENT_ID: client.userPoolClientId },
    };
  }

  private dashboard(tenantsTable: dynamodb.Table, api: SilopoolFunction, control: SilopoolFunction): void {
    // A property variable rewrites the TenantId of every widget: pick a tenant, see its jobs.
    const tenant = new cloudwatch.DashboardVariable({
      id: 'tenant',
      type: cloudwatch.VariableType.PROPERTY,
      inputType: cloudwatch.VariableInputType.SELECT,
      value: 'TenantId',
      label: 'Tenant',
      values: cloudwatch.Values.fromSearchComponents({
        namespace: 'Silopool',
        dimensions: ['service', 'TenantId'],
        metricName: 'JobsProcessed',
        populateFrom: 'TenantId',
      }),
      defaultValue: cloudwatch.DefaultValue.FIRST,
    });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboard names are unique per account, across Regions: a second Region's platform needs its own.
      dashboardName: `${this.stackName}-${this.region}`,
      variables: [tenant],
    });
    dashboard.addWidgets(...tenantJobWidgets('all'));
    for (const lane of this.lanes) dashboard.addWidgets(...lane.widgets());
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API',
        left: [api.fn.metricInvocations(), api.fn.metricErrors()],
        right: [api.fn.metricDuration({ statistic: 'p95' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Control (placement moves)',
        left: [control.fn.metricInvocations(), control.fn.metricErrors(), control.fn.metricThrottles()],
        right: [control.fn.metricDuration({ statistic: 'Maximum' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Tenant directory',
        left: [
          tenantsTable.metricConsumedReadCapacityUnits(),
          tenantsTable.metricConsumedWriteCapacityUnits(),
        ],
        width: 12,
      }),
    );
  }
}
