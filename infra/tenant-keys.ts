import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { TENANT_TAG } from '../src/adapters/aws/tenant-stack.ts';

/**
 * Use of dedicated tenants' keys by a platform function that serves every tenant. Their tables and buckets
 * are encrypted with keys of their own (tenant-stack.ts), created later by their TenantStacks, so no key
 * ARN can be named here: the grant covers the keys carrying the tenant tag from creation on (as the
 * deployer role must tag them, tenant-provisioning.ts), used through the named services only
 * (`kms:ViaService`), never directly.
 */
export function tenantKeysStatement(
  stack: Stack,
  actions: ('kms:Decrypt' | 'kms:GenerateDataKey')[],
  via: ('s3' | 'dynamodb')[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions,
    resources: [`arn:${stack.partition}:kms:${stack.region}:${stack.account}:key/*`],
    conditions: {
      Null: { [`aws:ResourceTag/${TENANT_TAG}`]: 'false' },
      StringEquals: { 'kms:ViaService': via.map((service) => `${service}.${stack.region}.amazonaws.com`) },
    },
  });
}
