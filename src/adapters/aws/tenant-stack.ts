import type { TenantId } from '../../core/ids.ts';
import type { FunctionSettings } from '../../core/tenant.ts';
import { dedicatedBucketName, dedicatedTableName } from './naming.ts';

/**
 * The contract between the tenant template (infra/tenant-stack.ts, synthesized once per release) and the
 * control plane that instantiates it per dedicated tenant with CloudFormation. Every name the runtime
 * later looks up is computed here, by the runtime's own naming functions, and passed in as a parameter:
 * the template cannot disagree with the code that finds its resources.
 */
export const TENANT_STACK_PARAMETERS = {
  tenantId: 'TenantId',
  tableName: 'TableName',
  bucketName: 'BucketName',
  reservedConcurrency: 'ReservedConcurrency',
  memoryMb: 'MemoryMb',
  timeoutSec: 'TimeoutSec',
  /** Six times the function timeout (AWS's guidance for SQS event sources): CloudFormation cannot multiply. */
  queueVisibilityTimeoutSec: 'QueueVisibilityTimeoutSec',
  /** Where the model function's code is: the platform's own model bundle, published with the platform stack. */
  codeBucket: 'CodeBucket',
  codeKey: 'CodeKey',
  /** `true` or `false`: the tenant's own CloudWatch dashboard ($3 a month; see TENANT_DASHBOARDS_UP_TO). */
  dashboard: 'TenantDashboard',
  /**
   * The platform's Region: its tenant views, dedup table and announcement queues, which a stack in a
   * contract Region reaches there. The stack's own Region when it is the platform's.
   */
  platformRegion: 'PlatformRegion',
} as const;

/**
 * Per-tenant dashboards are created while the account has fewer dedicated tenants than this, by default:
 * at $3 a month each they are half a dedicated tenant's fixed cost, and at hundreds of tenants the platform
 * dashboard's Tenant variable serves better (docs/aws.md, "Monthly cost per tenant").
 */
export const TENANT_DASHBOARDS_UP_TO = 100;

export type TenantStackParameterName = (typeof TENANT_STACK_PARAMETERS)[keyof typeof TENANT_STACK_PARAMETERS];

/** Tags on every tenant stack, so an account's stacks can be listed and costed by tenant. */
export const TENANT_TAG = 'silopool:tenant';

export interface TenantStackCode {
  bucket: string;
  key: string;
}

export interface TenantStackInput {
  tenantId: TenantId;
  settings: Pick<FunctionSettings, 'reservedConcurrency' | 'memoryMb' | 'timeoutSec'>;
  account: string;
  /** Where the stack is deployed: the tenant's contract Region, else the platform's. */
  region: string;
  /** The platform's Region (default `region`). */
  platformRegion?: string;
  code: TenantStackCode;
  /** The tenant's own dashboard (default true). */
  dashboard?: boolean;
}

/** The parameter values of one tenant's stack. */
export function tenantStackParameters(input: TenantStackInput): Record<TenantStackParameterName, string> {
  const { tenantId, settings } = input;
  return {
    TenantId: tenantId,
    TableName: dedicatedTableName(tenantId),
    BucketName: dedicatedBucketName(tenantId, input.account, input.region),
    ReservedConcurrency: String(settings.reservedConcurrency),
    MemoryMb: String(settings.memoryMb),
    TimeoutSec: String(settings.timeoutSec),
    QueueVisibilityTimeoutSec: String(settings.timeoutSec * 6),
    CodeBucket: input.code.bucket,
    CodeKey: input.code.key,
    TenantDashboard: String(input.dashboard ?? true),
    PlatformRegion: input.platformRegion ?? input.region,
  };
}

/**
 * Environment of the control plane (API and control functions) on AWS, set by the platform stack:
 * - `SILOPOOL_PROVISIONING=stack` makes dedicated placement a CloudFormation stack per tenant;
 * - the template's URL, the model code's location, and the role CloudFormation deploys with.
 */
export const TENANT_STACK_ENV = {
  templateUrl: 'SILOPOOL_TENANT_TEMPLATE_URL',
  codeBucket: 'SILOPOOL_TENANT_CODE_BUCKET',
  codeKey: 'SILOPOOL_TENANT_CODE_KEY',
  deployerRoleArn: 'SILOPOOL_TENANT_DEPLOYER_ROLE_ARN',
} as const;
