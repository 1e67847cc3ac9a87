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
  /** The Regions tenant stacks live in: the platform's and its contract Regions (tenantRegionsOf). */
  regions: string[] = [stack.region],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions,
    resources: regions.map((region) => `arn:${stack.partition}:kms:${region}:${stack.account}:key/*`),
    conditions: {
      Null: { [`aws:ResourceTag/${TENANT_TAG}`]: 'false' },
      StringEquals: {
        'kms:ViaService': regions.flatMap((region) =>
          via.map((service) => `${service}.${region}.amazonaws.com`),
        ),
      },
    },
  });
}
