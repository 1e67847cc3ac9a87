import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import type { ModelLane } from './constructs/model-lane.ts';
import type { SilopoolFunction } from './constructs/silopool-function.ts';
import type { UserNotifications } from './constructs/user-notifications.ts';

// Every cdk-nag finding the stacks accept, each with the reason it is right here.

const RUNTIME =
  'Pinned to nodejs22.x: the runtime the code is built and tested for (esbuild target node22); moving to a newer runtime is a deliberate upgrade, not a synth-time default.';
const XRAY =
  'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (CDK adds them for active tracing).';

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

function resolved(scope: IConstruct, value: string): string {
  return Stack.of(scope).resolve(value) as string;
}

/** `<LogicalId.Arn>` as cdk-nag names a resource ARN in its finding ids. */
function arnRef(scope: IConstruct, construct: IConstruct): string {
  return `<${Stack.of(scope).getLogicalId(construct.node.defaultChild as never)}.Arn>`;
}

function acknowledgeFunction(fn: SilopoolFunction): void {
  acknowledge(fn.fn, 'AwsSolutions-L1', RUNTIME);
}

export function acknowledgePlatform(
  stack: Stack,
  parts: {
    apiRole: iam.Role;
    modelRole: iam.Role;
    tenantScopeRole: iam.Role;
    apiFunction: SilopoolFunction;
    webhookRole: iam.Role;
    webhookFunction: SilopoolFunction;
    notifications: UserNotifications;
    controlFunction: SilopoolFunction;
    deadLetterFunction: SilopoolFunction;
    deployerRole: iam.Role;
    /** The bucket of the published tenant template and model code, where releases are published too. */
    artifactsBucket: string;
    lanes: ModelLane[];
  },
): void {
  const { apiRole, modelRole, tenantScopeRole, webhookRole } = parts;
  acknowledgeFunction(parts.apiFunction);
  acknowledgeFunction(parts.webhookFunction);
  acknowledgeFunction(parts.controlFunction);
  acknowledgeFunction(parts.deadLetterFunction);
  acknowledge(webhookRole, 'AwsSolutions-IAM5[Resource::*]', XRAY);
  acknowledgeNotifications(parts.notifications);
  for (const lane of parts.lanes) acknowledgeFunction(lane.fn);
  acknowledge(modelRole, 'AwsSolutions-IAM5[Resource::*]', XRAY);
  acknowledge(
    apiRole,
    'AwsSolutions-IAM5[Resource::*]',
    `${XRAY} sqs:ListQueues has none either (the dead-letter settler lists the lanes' dead-letter queues), nor do the account quota reads before a tenant stack is created (lambda:GetAccountSettings, cloudformation:DescribeAccountLimits, cloudformation:ListStacks).`,
  );

  // CDK's table grants add the table's indexes; the shared table has one, the sparse `queued` index.
  const indexes = `Resource::${arnRef(stack, stack.node.findChild('SharedTable'))}/index/*`;
  acknowledge(
    apiRole,
    `AwsSolutions-IAM5[${indexes}]`,
    "The shared table's indexes: only `queued` (keys of waiting jobs, partition key = the tenant's pk), which admission counts a tenant's queued jobs with.",
  );

  const operationIndexes = `Resource::${arnRef(stack, stack.node.findChild('TenantsTable'))}/index/*`;
  acknowledge(
    apiRole,
    `AwsSolutions-IAM5[${operationIndexes}]`,
    "The tenant directory's indexes: only the sparse operation indexes (running operations; operations by tenant), which the control plane reads instead of one partition of every operation.",
  );

  const usageIndexes = `Resource::${arnRef(stack, stack.node.findChild('UsageTable'))}/index/*`;
  acknowledge(
    apiRole,
    `AwsSolutions-IAM5[${usageIndexes}]`,
    "The usage table's indexes: only `byDay` (usage records and billing items by UTC day), which aggregation, statements and the billing export read instead of scanning the table (docs/billing.md).",
  );

  const bucket = stack.node.findChild('SharedBucket');
  const objects = `Resource::${arnRef(stack, bucket)}/tenants/*`;
  acknowledge(
    tenantScopeRole,
    `AwsSolutions-IAM5[${objects}]`,
    'Objects of every shared tenant; each message session narrows it to tenants/{tenantId}/* with a session policy (src/adapters/aws/tenant-scope.ts).',
  );
  acknowledge(
    apiRole,
    `AwsSolutions-IAM5[${objects}]`,
    "The API serves every tenant's artifacts; tenant scoping is structural in the app (scopeObjects), keys are built from the authenticated tenant.",
  );
  acknowledge(
    apiRole,
    `AwsSolutions-IAM5[Resource::${arnRef(stack, bucket)}/exports/*]`,
    'Offboarding exports (exports/{operationId}.zip): written by the control function, downloaded by operators through the API; they expire after 30 days.',
  );
  const partition = '<AWS::Partition>';
  const { account, region } = stack;
  const patterns: [string, string][] = [
    [
      `arn:${partition}:dynamodb:${region}:${account}:table/silopool-tenant-*`,
      'Dedicated tenant tables are created later by their TenantStacks; the name prefix is the only way to name them here.',
    ],
    [
      `arn:${partition}:s3:::silopool-*-${account}-${region}/tenants/*`,
      "Tenant objects of dedicated buckets (silopool-{tenant}-{account}-{region}, created later by TenantStacks); the platform's own buckets do not match.",
    ],
    [`arn:${partition}:sqs:${region}:${account}:shared_*`, 'The API sends jobs to every shared model queue.'],
    [
      `arn:${partition}:sqs:${region}:${account}:tenant_*`,
      'The API sends jobs to dedicated tenant queues, created later by their TenantStacks.',
    ],
    [`arn:${partition}:sqs:${region}:${account}:system_*`, 'Platform queues (webhook delivery).'],
    [
      `arn:${partition}:sqs:${region}:${account}:shared_*-dlq`,
      "The dead-letter settler reads the shared lanes' dead-letter queues (and leaves the messages there); a redrive deletes those it moved back.",
    ],
    [
      `arn:${partition}:sqs:${region}:${account}:tenant_*-dlq`,
      "The dead-letter settler reads dedicated lanes' dead-letter queues, created later by their TenantStacks; a redrive deletes those it moved back.",
    ],
  ];
  for (const [resource, reason] of patterns)
    acknowledge(apiRole, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
  acknowledge(
    webhookRole,
    `AwsSolutions-IAM5[Resource::${patterns[0]![0]}]`,
    "Webhook delivery reads a dedicated tenant's job record (GetItem only) from its table, created later by its TenantStack.",
  );
  acknowledge(
    webhookRole,
    `AwsSolutions-IAM5[Resource::arn:${partition}:kms:${region}:${account}:key/*]`,
    "Dedicated tenants' keys, created later by their TenantStacks: Decrypt only, only those carrying the silopool:tenant tag, only through DynamoDB (a job record's table).",
  );

  acknowledgeTenantProvisioning(stack, apiRole, parts.deployerRole, parts.artifactsBucket);

  const api = stack.node.findChild('Api');
  for (const route of ['GET--healthz', 'GET--v1--auth--config', 'GET--docs', 'GET--docs--{proxy+}']) {
    acknowledge(
      api.node.findChild(route),
      'AwsSolutions-APIG4',
      'Public on purpose: health check, the login settings the web app reads before sign-in, and the OpenAPI docs.',
    );
  }
  const users = stack.node.tryFindChild('Users');
  if (users) {
    acknowledge(
      users,
      'AwsSolutions-COG8',
      'Cognito Plus (threat protection) is priced per monthly active user; MFA is required instead. Enable it per deployment if the buyer wants it.',
    );
  }
  void resolved;
}

/** The control plane deploys tenant stacks whose resources do not exist yet: only name patterns can scope it. */
function acknowledgeTenantProvisioning(
  stack: Stack,
  apiRole: iam.Role,
  deployerRole: iam.Role,
  artifactsBucket: string,
): void {
  const { account, region } = stack;
  const arn = (service: string, resource: string) =>
    `Resource::arn:<AWS::Partition>:${service}:${region}:${account}:${resource}`;
  const dedicatedBuckets = `Resource::arn:<AWS::Partition>:s3:::silopool-*-${account}-${region}`;
  const bucketReason =
    "Dedicated buckets, silopool-{tenant}-{account}-{region} (src/adapters/aws/naming.ts), created by tenant stacks; the platform's own buckets, named by CloudFormation, do not end in account and Region.";
  const forApi: [string, string][] = [
    [
      arn('cloudformation', 'stack/silopool-tenant-*/*'),
      'The control plane creates, updates and deletes one silopool-tenant-{id} stack per dedicated tenant; stack ids are random.',
    ],
    [
      dedicatedBuckets,
      `ListBucketVersions, to empty a versioned bucket before its stack is deleted. ${bucketReason}`,
    ],
    [
      `${dedicatedBuckets}/*`,
      `DeleteObjectVersion, to empty a versioned bucket before its stack is deleted. ${bucketReason}`,
    ],
    [
      arn('cloudwatch', 'alarm:*'),
      "DescribeAlarms only, of the tenant stacks' alarms an upgrade watches between waves: reading alarms has no narrower resource.",
    ],
    [
      `Resource::arn:<AWS::Partition>:s3:::${artifactsBucket}/releases/*/tenant-template.json`,
      "CloudFormation reads a release's tenant template (releases/{id}/tenant-template.json) with the caller's permissions; release ids are made after synthesis.",
    ],
  ];
  for (const [finding, reason] of forApi) acknowledge(apiRole, `AwsSolutions-IAM5[${finding}]`, reason);

  const byStack =
    'CloudFormation names this resource after its silopool-tenant-{id} stack; it does not exist before the stack does.';
  const forDeployer: [string, string][] = [
    [
      'Resource::*',
      'kms:CreateKey names no resource (the key id is made by the request): it requires the silopool:tenant tag on the request. kms:ListAliases has no resource-level permissions and reads alias names only.',
    ],
    [
      arn('kms', 'key/*'),
      "KMS keys have random ids and no name-based ARN; a tenant stack's key exists only once created. Every action on key/* requires the key's silopool:tenant tag (aws:ResourceTag), which CreateKey sets.",
    ],
    [arn('kms', 'alias/silopool/tenant/*'), "The tenant keys' aliases, alias/silopool/tenant/{id}."],
    [arn('sqs', 'tenant_*'), 'Dedicated queues tenant_{id}_{model} and their dead-letter queues.'],
    [arn('dynamodb', 'table/silopool-tenant-*'), 'Dedicated tables silopool-tenant-{id}.'],
    [dedicatedBuckets, bucketReason],
    [
      `Resource::arn:<AWS::Partition>:iam::${account}:role/silopool-tenant/*`,
      'Roles the tenant stacks create under the /silopool-tenant/ path (their model role); passed to Lambda only.',
    ],
    [arn('lambda', 'function:silopool-tenant-*'), byStack],
    [
      arn('lambda', 'event-source-mapping:*'),
      'GetEventSourceMapping: mappings have random ids. Creating, updating and deleting them is limited to tenant functions by lambda:FunctionArn.',
    ],
    [arn('logs', 'log-group:silopool-tenant-*'), byStack],
    [arn('logs', 'log-group:silopool-tenant-*:*'), byStack],
    [arn('logs', 'log-group:*'), 'DescribeLogGroups only: reading log groups back has no narrower resource.'],
    [
      `Resource::arn:<AWS::Partition>:cloudwatch::${account}:dashboard/silopool-tenant-*`,
      'Dedicated dashboards silopool-tenant-{id}.',
    ],
    [arn('cloudwatch', 'alarm:silopool-tenant-*'), byStack],
    [arn('cloudwatch', 'alarm:*'), 'DescribeAlarms only: reading alarms back has no narrower resource.'],
    [
      `Resource::arn:<AWS::Partition>:s3:::${artifactsBucket}/releases/*/*.zip`,
      "Lambda reads a release's model bundle (releases/{id}/{bundle}.zip) with the deployer's permissions; release ids are made after synthesis.",
    ],
  ];
  for (const [finding, reason] of forDeployer)
    acknowledge(deployerRole, `AwsSolutions-IAM5[${finding}]`, reason);
}

export function acknowledgeTenant(
  stack: Stack,
  parts: { role: iam.Role; bucket: s3.Bucket; lanes: ModelLane[] },
): void {
  for (const lane of parts.lanes) acknowledgeFunction(lane.fn);
  acknowledge(parts.role, 'AwsSolutions-IAM5[Resource::*]', XRAY);
  acknowledge(
    parts.role,
    `AwsSolutions-IAM5[Resource::${arnRef(stack, parts.bucket)}/tenants/*]`,
    "The tenant's own bucket: its functions write artifacts under keys named per job.",
  );
}

/** The notification function's role: it serves every tenant, shared and dedicated (user-notifications.ts). */
function acknowledgeNotifications(notifications: UserNotifications): void {
  const stack = Stack.of(notifications);
  const { role } = notifications;
  acknowledgeFunction(notifications.fn);
  const partition = '<AWS::Partition>';
  const { account, region } = stack;
  const dedicatedBuckets = `arn:${partition}:s3:::silopool-*-${account}-${region}`;
  const settings = 'tenants/*/notifications/users/*';
  const shared = arnRef(stack, stack.node.findChild('SharedBucket'));
  const findings: [string, string][] = [
    ['*', XRAY],
    [
      `arn:${partition}:dynamodb:${region}:${account}:table/silopool-tenant-*`,
      "A dedicated tenant's job record (GetItem only), from its table created later by its TenantStack.",
    ],
    [
      `${shared}/${settings}`,
      "Users' notification settings of every shared tenant, and nothing else of theirs; fan-out reads one tenant's users.",
    ],
    [
      `${dedicatedBuckets}/${settings}`,
      "Users' notification settings in dedicated tenants' buckets, created later by their TenantStacks.",
    ],
    [
      dedicatedBuckets,
      "Listing dedicated tenants' buckets (created later by their TenantStacks), under the users' settings prefix only.",
    ],
    [
      `arn:${partition}:kms:${region}:${account}:key/*`,
      "Dedicated tenants' keys, created later by their TenantStacks: only those carrying the silopool:tenant tag, only through S3 and DynamoDB.",
    ],
  ];
  for (const [resource, reason] of findings)
    acknowledge(role, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
}
