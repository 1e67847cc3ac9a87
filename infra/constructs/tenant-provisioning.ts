import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { RELEASE_LAYOUT } from '../../src/adapters/aws/release-infrastructure.ts';
import { TENANT_STACK_ENV, TENANT_TAG } from '../../src/adapters/aws/tenant-stack.ts';
import { platformNames } from '../naming.ts';
import { dedicatedBucketsArn } from '../tenant-grants.ts';
import { TENANT_ROLE_PATH } from '../tenant-stack.ts';
import { synthesizeTenantTemplateFile } from '../tenant-template.ts';

export interface TenantProvisioningProps {
  models: string[];
  /** A shared model function: the tenant template's functions run its published bundle. */
  modelFunction: lambda.Function;
  /** The control plane's role (API and control functions): creates, updates and deletes tenant stacks. */
  controlPlaneRole: iam.Role;
}

/**
 * What the control plane needs to deploy dedicated tenants itself with CloudFormation: the tenant
 * template published as a file asset, the model bundle's location, the role CloudFormation deploys
 * with, and the control plane's right to create, update and delete `silopool-tenant-*` stacks with it.
 */
export class TenantProvisioning extends Construct {
  readonly template: s3assets.Asset;
  readonly deployerRole: iam.Role;
  /** For the API and control functions: `SILOPOOL_PROVISIONING=stack` and the TENANT_STACK_ENV values. */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: TenantProvisioningProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { region, account } = stack;
    const code = modelCode(props.modelFunction);

    // A file asset: the template alone, not the synthesis directory around it.
    this.template = new s3assets.Asset(this, 'Template', {
      path: synthesizeTenantTemplateFile(props.models, { cloudFormationValidation: true }),
    });

    this.deployerRole = new iam.Role(this, 'DeployerRole', {
      roleName: platformNames(account, region).tenantDeployerRole,
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com'),
      description: 'CloudFormation creates, updates and deletes silopool-tenant-* stacks with this role',
    });
    for (const statement of deployerStatements(stack, code)) this.deployerRole.addToPolicy(statement);

    const role = props.controlPlaneRole;
    // A release's template sits beside the platform's, in the same bucket (src/adapters/aws/release-infrastructure.ts
    // `artifactsOf`), at a URL of the same form as the asset's `httpUrl`.
    const releaseTemplates = `${RELEASE_LAYOUT.prefix}*/${RELEASE_LAYOUT.template}`;
    const releaseTemplateUrls = `https://s3.${region}.${stack.urlSuffix}/${this.template.s3BucketName}/${releaseTemplates}`;
    // Only from the published template or a release's, and with the deployer role: the control plane cannot
    // have CloudFormation create anything else with the deployer's permissions. StringLike, because release ids
    // are not known at synthesis; the platform's URL has no wildcard, so it still matches only itself.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudformation:CreateStack', 'cloudformation:UpdateStack'],
        resources: [tenantStacksArn(stack)],
        conditions: {
          StringLike: { 'cloudformation:TemplateUrl': [this.template.httpUrl, releaseTemplateUrls] },
          StringEquals: { 'cloudformation:RoleArn': this.deployerRole.roleArn },
        },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'cloudformation:DeleteStack',
          'cloudformation:DescribeStacks',
          'cloudformation:DescribeStackEvents',
          // CreateStack and UpdateStack pass the tenant tag (TENANT_TAG).
          'cloudformation:TagResource',
        ],
        resources: [tenantStacksArn(stack)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.deployerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      }),
    );
    // Quotas read before a tenant's stack is created (src/adapters/aws/account-quotas.ts): account-level reads
    // that have no resource-level permission.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'lambda:GetAccountSettings',
          'cloudformation:DescribeAccountLimits',
          'cloudformation:ListStacks',
        ],
        resources: ['*'],
      }),
    );
    // The upgrade reads the tenant stacks' alarms between waves (src/adapters/aws/release-alarms.ts).
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [`arn:${stack.partition}:cloudwatch:${region}:${account}:alarm:*`],
      }),
    );
    // CloudFormation reads TemplateURL with the caller's permissions: these objects only, not the asset bucket.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          this.template.bucket.arnForObjects(this.template.s3ObjectKey),
          this.template.bucket.arnForObjects(releaseTemplates),
        ],
      }),
    );
    // Before deleting a tenant's stack the control plane empties its versioned bucket: every version.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucketVersions'],
        resources: [dedicatedBucketsArn(stack)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:DeleteObjectVersion'],
        resources: [`${dedicatedBucketsArn(stack)}/*`],
      }),
    );

    this.environment = {
      SILOPOOL_PROVISIONING: 'stack',
      [TENANT_STACK_ENV.templateUrl]: this.template.httpUrl,
      [TENANT_STACK_ENV.codeBucket]: code.bucket,
      [TENANT_STACK_ENV.codeKey]: code.key,
      [TENANT_STACK_ENV.deployerRoleArn]: this.deployerRole.roleArn,
    };
  }
}

/** `silopool-tenant-*` stacks (src/adapters/aws/naming.ts `tenantStackName`), any stack id. */
function tenantStacksArn(stack: Stack): string {
  return `arn:${stack.partition}:cloudformation:${stack.region}:${stack.account}:stack/silopool-tenant-*/*`;
}

/** The bucket and key of a function's published code (its asset in the bootstrap bucket). */
function modelCode(fn: lambda.Function): { bucket: string; key: string } {
  const code = (fn.node.defaultChild as lambda.CfnFunction).code as lambda.CfnFunction.CodeProperty;
  if (!code.s3Bucket || !code.s3Key) {
    throw new Error(`The tenant template needs the model function's code in S3; ${fn.node.path} has none.`);
  }
  return { bucket: code.s3Bucket, key: code.s3Key };
}

/**
 * What creating, updating and deleting a tenant stack takes, resource by resource, scoped by the names
 * the stack's resources get: `tenant_*` queues, `silopool-tenant-*` tables, dashboards and (named by
 * CloudFormation after the stack) functions, log groups and alarms, `silopool-*-{account}-{region}`
 * buckets, roles under TENANT_ROLE_PATH. KMS keys have random ids: those actions are on `key/*`, only on
 * keys carrying the tenant tag.
 */
function deployerStatements(stack: Stack, code: { bucket: string; key: string }): iam.PolicyStatement[] {
  const { partition, region, account } = stack;
  const arn = (service: string, resource: string) =>
    `arn:${partition}:${service}:${region}:${account}:${resource}`;
  const tenantRoles = `arn:${partition}:iam::${account}:role${TENANT_ROLE_PATH}*`;
  const byTenantStack = 'silopool-tenant-*';
  const statement = (actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
    new iam.PolicyStatement({ actions, resources, ...(conditions ? { conditions } : {}) });
  // Keys created by tenant stacks: those carrying the tenant tag (see the KMS statements below).
  const tenantKey = { Null: { [`aws:ResourceTag/${TENANT_TAG}`]: 'false' } };
  return [
    statement(
      [
        'sqs:CreateQueue',
        'sqs:DeleteQueue',
        'sqs:GetQueueAttributes',
        'sqs:SetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ListQueueTags',
        'sqs:TagQueue',
        'sqs:UntagQueue',
      ],
      [arn('sqs', 'tenant_*')],
    ),
    statement(
      [
        'dynamodb:CreateTable',
        'dynamodb:DeleteTable',
        'dynamodb:DescribeTable',
        'dynamodb:UpdateTable',
        'dynamodb:DescribeContinuousBackups',
        'dynamodb:UpdateContinuousBackups',
        'dynamodb:DescribeTimeToLive',
        'dynamodb:UpdateTimeToLive',
        'dynamodb:DescribeContributorInsights',
        'dynamodb:DescribeKinesisStreamingDestination',
        'dynamodb:ListTagsOfResource',
        'dynamodb:TagResource',
        'dynamodb:UntagResource',
      ],
      [arn('dynamodb', 'table/silopool-tenant-*')],
    ),
    statement(
      [
        's3:CreateBucket',
        's3:DeleteBucket',
        's3:ListBucket',
        's3:GetBucketLocation',
        's3:GetBucketPolicy',
        's3:PutBucketPolicy',
        's3:DeleteBucketPolicy',
        's3:GetEncryptionConfiguration',
        's3:PutEncryptionConfiguration',
        's3:GetBucketVersioning',
        's3:PutBucketVersioning',
        's3:GetLifecycleConfiguration',
        's3:PutLifecycleConfiguration',
        's3:GetBucketPublicAccessBlock',
        's3:PutBucketPublicAccessBlock',
        's3:GetBucketOwnershipControls',
        's3:PutBucketOwnershipControls',
        's3:GetBucketTagging',
        's3:PutBucketTagging',
        's3:GetBucketLogging',
        's3:PutBucketLogging',
      ],
      [dedicatedBucketsArn(stack)],
    ),
    // Lambda reads the model bundle with the deployer's permissions when it creates or updates a function: the
    // platform's, or a release's (`releases/{id}/{bundle}.zip` in the same bucket).
    statement(
      ['s3:GetObject'],
      [
        `arn:${partition}:s3:::${code.bucket}/${code.key}`,
        `arn:${partition}:s3:::${code.bucket}/${RELEASE_LAYOUT.prefix}*/*.zip`,
      ],
    ),
    // Keys have random ids, so no ARN can name a tenant's key before it exists. What marks one is its tag:
    // CloudFormation creates a tenant's key with `silopool:tenant` in the same CreateKey call (the template
    // tags every resource), so a key is tagged from its first moment. Every key action is therefore
    // conditioned on that tag, on the request (CreateKey) or on the key (the rest). Not on the alias
    // (`kms:ResourceAliases`): the alias is a separate resource CloudFormation makes after the key, so the
    // key's own calls during creation (rotation, policy) would find none. Keys of other stacks carry no such
    // tag and are out of reach; moving a key into reach takes TagResource, itself limited to tagged keys.
    statement(['kms:CreateKey'], ['*'], { Null: { [`aws:RequestTag/${TENANT_TAG}`]: 'false' } }),
    // ListAliases has no resource-level permission or condition key: it reads alias names only.
    statement(['kms:ListAliases'], ['*']),
    statement(
      [
        'kms:DescribeKey',
        'kms:GetKeyPolicy',
        'kms:PutKeyPolicy',
        'kms:GetKeyRotationStatus',
        'kms:EnableKeyRotation',
        'kms:UpdateKeyDescription',
        'kms:ListResourceTags',
        'kms:TagResource',
        'kms:UntagResource',
      ],
      [arn('kms', 'key/*')],
      tenantKey,
    ),
    // The services given the key (DynamoDB makes a grant) use it with the creator's permissions: only there.
    statement(
      ['kms:CreateGrant', 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      [arn('kms', 'key/*')],
      {
        StringEquals: {
          'kms:ViaService': ['dynamodb', 'sqs', 's3'].map(
            (service) => `${service}.${region}.${stack.urlSuffix}`,
          ),
        },
        ...tenantKey,
      },
    ),
    statement(['kms:ScheduleKeyDeletion', 'kms:DisableKey'], [arn('kms', 'key/*')], tenantKey),
    // An alias action is authorized on the alias and on its key: the alias by name, the key by its tag
    // (an alias has no tags, so the two cannot share a statement).
    statement(
      ['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'],
      [arn('kms', 'alias/silopool/tenant/*')],
    ),
    statement(['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'], [arn('kms', 'key/*')], tenantKey),
    statement(
      [
        'iam:CreateRole',
        'iam:DeleteRole',
        'iam:GetRole',
        'iam:UpdateRole',
        'iam:UpdateRoleDescription',
        'iam:UpdateAssumeRolePolicy',
        'iam:TagRole',
        'iam:UntagRole',
        'iam:ListRoleTags',
        'iam:PutRolePolicy',
        'iam:GetRolePolicy',
        'iam:DeleteRolePolicy',
        'iam:ListRolePolicies',
        'iam:ListAttachedRolePolicies',
        'iam:ListInstanceProfilesForRole',
      ],
      [tenantRoles],
    ),
    statement(['iam:PassRole'], [tenantRoles], {
      StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' },
    }),
    statement(
      [
        'lambda:CreateFunction',
        'lambda:DeleteFunction',
        'lambda:GetFunction',
        'lambda:GetFunctionConfiguration',
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:GetFunctionConcurrency',
        'lambda:PutFunctionConcurrency',
        'lambda:DeleteFunctionConcurrency',
        'lambda:GetFunctionCodeSigningConfig',
        'lambda:GetFunctionRecursionConfig',
        'lambda:GetRuntimeManagementConfig',
        'lambda:ListVersionsByFunction',
        'lambda:ListTags',
        'lambda:TagResource',
        'lambda:UntagResource',
      ],
      [arn('lambda', `function:${byTenantStack}`)],
    ),
    // Event source mappings have random ids: scoped by the function they feed.
    statement(
      [
        'lambda:CreateEventSourceMapping',
        'lambda:UpdateEventSourceMapping',
        'lambda:DeleteEventSourceMapping',
      ],
      ['*'],
      { ArnLike: { 'lambda:FunctionArn': arn('lambda', `function:${byTenantStack}`) } },
    ),
    statement(['lambda:GetEventSourceMapping'], [arn('lambda', 'event-source-mapping:*')]),
    statement(
      [
        'logs:CreateLogGroup',
        'logs:DeleteLogGroup',
        'logs:PutRetentionPolicy',
        'logs:DeleteRetentionPolicy',
        'logs:TagResource',
        'logs:UntagResource',
        'logs:ListTagsForResource',
        'logs:TagLogGroup',
        'logs:UntagLogGroup',
        'logs:ListTagsLogGroup',
      ],
      [arn('logs', `log-group:${byTenantStack}`), arn('logs', `log-group:${byTenantStack}:*`)],
    ),
    statement(['logs:DescribeLogGroups'], [arn('logs', 'log-group:*')]),
    statement(
      ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'],
      [`arn:${partition}:cloudwatch::${account}:dashboard/silopool-tenant-*`],
    ),
    statement(
      [
        'cloudwatch:PutMetricAlarm',
        'cloudwatch:DeleteAlarms',
        'cloudwatch:TagResource',
        'cloudwatch:UntagResource',
        'cloudwatch:ListTagsForResource',
      ],
      [arn('cloudwatch', `alarm:${byTenantStack}`)],
    ),
    statement(['cloudwatch:DescribeAlarms'], [arn('cloudwatch', 'alarm:*')]),
  ];
}
