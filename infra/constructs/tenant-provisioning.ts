import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { RELEASE_LAYOUT } from '../../src/adapters/aws/release-infrastructure.ts';
import { TENANT_STACK_ENV, TENANT_TAG } from '../../src/adapters/aws/tenant-stack.ts';
import { platformNames } from '../naming.ts';
import { dedicatedBucketsArn, inThisAccount, tenantRegionsOf } from '../tenant-grants.ts';
import { TENANT_ROLE_PATH } from '../tenant-stack.ts';
import { synthesizeTenantTemplateFile } from '../tenant-template.ts';

export interface TenantProvisioningProps {
  models: string[];
  /** A shared model function: the tenant template's functions run its published bundle. */
  modelFunction: lambda.Function;
  /** The control plane's role (API and control functions): creates, updates and deletes tenant stacks. */
  controlPlaneRole: iam.Role;
  /**
   * Regions besides the platform's where tenant stacks may be deployed (the configured allow-list): every
   * grant below names each of them, and the control plane gets it as `SILOPOOL_CONTRACT_REGIONS`.
   */
  contractRegions?: string[];
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
    const regions = tenantRegionsOf(stack, props.contractRegions);
    const contractRegions = regions.filter((r) => r !== region);

    // A file asset: the template alone, not the synthesis directory around it.
    this.template = new s3assets.Asset(this, 'Template', {
      path: synthesizeTenantTemplateFile(props.models, { cloudFormationValidation: true }),
    });

    this.deployerRole = new iam.Role(this, 'DeployerRole', {
      roleName: platformNames(account, region).tenantDeployerRole,
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com'),
      description: 'CloudFormation creates, updates and deletes silopool-tenant-* stacks with this role',
    });
    for (const statement of deployerStatements(stack, code, regions))
      this.deployerRole.addToPolicy(statement);

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
        resources: regions.map((r) => tenantStacksArn(stack, r)),
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
        resources: regions.map((r) => tenantStacksArn(stack, r)),
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
        resources: regions.map((r) => `arn:${stack.partition}:cloudwatch:${r}:${account}:alarm:*`),
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
        resources: regions.map((r) => dedicatedBucketsArn(stack, r)),
        conditions: inThisAccount(stack),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:DeleteObjectVersion'],
        resources: regions.map((r) => `${dedicatedBucketsArn(stack, r)}/*`),
        conditions: inThisAccount(stack),
      }),
    );
    // Lambda reads code from its own Region only: before a stack is deployed in a contract Region the control
    // plane copies the bundle it runs into `{bucket}-{region}` (src/adapters/aws/regional-code.ts), making
    // that bucket the first time. Those buckets and the bundles' keys only.
    if (contractRegions.length > 0) {
      const bundles = [code.key, `${RELEASE_LAYOUT.prefix}*/*.zip`];
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: bundles.map((key) => `arn:${stack.partition}:s3:::${code.bucket}/${key}`),
        }),
      );
      const regional = contractRegions.map((r) => `arn:${stack.partition}:s3:::${code.bucket}-${r}`);
      // Made on first use under a name anyone may take first: used only where this account owns it.
      role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:CreateBucket'], resources: regional }));
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: regional,
          conditions: inThisAccount(stack),
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: regional.flatMap((bucket) => bundles.map((key) => `${bucket}/${key}`)),
          conditions: inThisAccount(stack),
        }),
      );
    }

    this.environment = {
      SILOPOOL_PROVISIONING: 'stack',
      [TENANT_STACK_ENV.templateUrl]: this.template.httpUrl,
      [TENANT_STACK_ENV.codeBucket]: code.bucket,
      [TENANT_STACK_ENV.codeKey]: code.key,
      [TENANT_STACK_ENV.deployerRoleArn]: this.deployerRole.roleArn,
      ...(contractRegions.length > 0 ? { SILOPOOL_CONTRACT_REGIONS: contractRegions.join(',') } : {}),
    };
  }
}

/** `silopool-tenant-*` stacks (src/adapters/aws/naming.ts `tenantStackName`) in `region`, any stack id. */
function tenantStacksArn(stack: Stack, region: string): string {
  return `arn:${stack.partition}:cloudformation:${region}:${stack.account}:stack/silopool-tenant-*/*`;
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
function deployerStatements(
  stack: Stack,
  code: { bucket: string; key: string },
  regions: string[],
): iam.PolicyStatement[] {
  const { partition, account } = stack;
  // Each resource in every Region tenant stacks may live in (the platform's and its contract Regions).
  const arns = (service: string, resource: string) =>
    regions.map((r) => `arn:${partition}:${service}:${r}:${account}:${resource}`);
  // The code of a stack in a contract Region is the copy in that Region's `{bucket}-{region}`.
  const codeBuckets = regions.map((r) => (r === stack.region ? code.bucket : `${code.bucket}-${r}`));
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
      arns('sqs', 'tenant_*'),
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
      arns('dynamodb', 'table/silopool-tenant-*'),
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
      regions.map((r) => dedicatedBucketsArn(stack, r)),
    ),
    // Lambda reads the model bundle with the deployer's permissions when it creates or updates a function: the
    // platform's, or a release's (`releases/{id}/{bundle}.zip` in the same bucket).
    statement(
      ['s3:GetObject'],
      codeBuckets.flatMap((bucket) => [
        `arn:${partition}:s3:::${bucket}/${code.key}`,
        `arn:${partition}:s3:::${bucket}/${RELEASE_LAYOUT.prefix}*/*.zip`,
      ]),
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
      arns('kms', 'key/*'),
      tenantKey,
    ),
    // The services given the key (DynamoDB makes a grant) use it with the creator's permissions: only there.
    statement(
      ['kms:CreateGrant', 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      arns('kms', 'key/*'),
      {
        StringEquals: {
          'kms:ViaService': regions.flatMap((region) =>
            ['dynamodb', 'sqs', 's3'].map((service) => `${service}.${region}.${stack.urlSuffix}`),
          ),
        },
        ...tenantKey,
      },
    ),
    statement(['kms:ScheduleKeyDeletion', 'kms:DisableKey'], arns('kms', 'key/*'), tenantKey),
    // An alias action is authorized on the alias and on its key: the alias by name, the key by its tag
    // (an alias has no tags, so the two cannot share a statement).
    statement(
      ['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'],
      arns('kms', 'alias/silopool/tenant/*'),
    ),
    statement(['kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'], arns('kms', 'key/*'), tenantKey),
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
      arns('lambda', `function:${byTenantStack}`),
    ),
    // Event source mappings have random ids: scoped by the function they feed.
    statement(
      [
        'lambda:CreateEventSourceMapping',
        'lambda:UpdateEventSourceMapping',
        'lambda:DeleteEventSourceMapping',
      ],
      ['*'],
      { ArnLike: { 'lambda:FunctionArn': arns('lambda', `function:${byTenantStack}`) } },
    ),
    statement(['lambda:GetEventSourceMapping'], arns('lambda', 'event-source-mapping:*')),
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
      [...arns('logs', `log-group:${byTenantStack}`), ...arns('logs', `log-group:${byTenantStack}:*`)],
    ),
    statement(['logs:DescribeLogGroups'], arns('logs', 'log-group:*')),
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
      arns('cloudwatch', `alarm:${byTenantStack}`),
    ),
    statement(['cloudwatch:DescribeAlarms'], arns('cloudwatch', 'alarm:*')),
  ];
}
