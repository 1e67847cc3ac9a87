import { createHash } from 'node:crypto';
import { parseTenantId, type TenantId } from '../../core/ids.ts';

/** Names of a dedicated tenant's AWS resources, shared by the runtime (to find them) and the CDK app (to create them). */
export function dedicatedTableName(tenantId: TenantId): string {
  // An id read back from a record is checked before it names an AWS resource (the brand is compile-time only).
  return `silopool-tenant-${parseTenantId(tenantId, '/tenantId')}`;
}

/**
 * Bucket names are global and at most 63 characters: account and Region make them unique, and a hash
 * stands in for ids too long to fit.
 */
export function dedicatedBucketName(tenantId: TenantId, account: string, region: string): string {
  parseTenantId(tenantId, '/tenantId');
  const plain = `silopool-${tenantId}-${account}-${region}`;
  if (plain.length <= 63) return plain;
  const digest = createHash('sha256').update(`${tenantId}/${account}/${region}`).digest('hex').slice(0, 16);
  return `silopool-t${digest}-${account}-${region}`.slice(0, 63);
}

/** Every dedicated tenant's stack name starts so (and no other stack's of the platform). */
export const TENANT_STACK_PREFIX = 'silopool-tenant-';

export function tenantStackName(tenantId: TenantId): string {
  return `${TENANT_STACK_PREFIX}${parseTenantId(tenantId, '/tenantId')}`;
}

/**
 * The alarms a dedicated tenant's stack makes (infra/tenant-stack.ts) that say its jobs are unhealthy, read by
 * the upgrade between waves (src/adapters/aws/release-alarms.ts): its job failure rate, and each model lane's
 * dead letters. After the stack's prefix, a `/`, which tenant ids cannot contain: no tenant's names begin
 * another's.
 */
export function tenantAlarmNames(
  tenantId: TenantId,
  models: readonly string[],
): { jobFailures: string; deadLetters: Record<string, string> } {
  // Unchecked: the tenant stack's template calls this with its deploy-time TenantId parameter.
  const prefix = `${TENANT_STACK_PREFIX}${tenantId}/`;
  return {
    jobFailures: `${prefix}job-failures`,
    deadLetters: Object.fromEntries(models.map((model) => [model, `${prefix}dead-letters/${model}`])),
  };
}
