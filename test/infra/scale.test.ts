import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { AWS_LIMITS, dedicatedCapacity, PLATFORM_RESERVED_CONCURRENCY } from '../../infra/capacity.ts';
import { DEFAULT_DEDICATED } from '../../infra/config.ts';
import { TenantStack } from '../../infra/tenant-stack.ts';
import { type CfnResource, type CfnTemplate, ENV, instantiate, stubCode } from './support.ts';

function nameOf(resource: CfnResource, property: 'QueueName' | 'BucketName'): string {
  const name = resource.Properties?.[property];
  if (typeof name !== 'string') throw new Error(`Unresolved ${property}: ${JSON.stringify(name)}`);
  return name;
}

const MODELS = ['finance', 'funds'];
const TENANTS = 500;

describe('one account and Region with 500 dedicated tenants', () => {
  it('keeps every tenant stack under the 500-resource limit, and shows what the concurrency quota allows', () => {
    // CDK's built-in cfn-lint pass (WASM) costs ~140 ms a stack; the tenant-stack test keeps it on.
    const app = new App({
      outdir: mkdtempSync(join(tmpdir(), 'cdk-scale-')),
      builtinCloudFormationValidation: false,
    });
    const code = stubCode();
    for (let i = 0; i < TENANTS; i++) {
      // Long ids too: names derived from them (bucket, queues) must still fit their limits.
      const id = i % 50 === 0 ? `t${String(i).padStart(4, '0')}-${'x'.repeat(40)}` : `tenant-${i}`;
      new TenantStack(app, `silopool-tenant-${id}`, {
        env: ENV,
        tenant: { id, ...DEFAULT_DEDICATED },
        models: MODELS,
        code,
      });
    }
    const assembly = app.synth();
    expect(assembly.stacks).toHaveLength(TENANTS);

    let reserved = 0;
    let largest = 0;
    for (const stack of assembly.stacks) {
      // As deployed: the names and settings are parameters defaulting to the tenant's values.
      const resources = Object.values(instantiate(stack.template as CfnTemplate));
      largest = Math.max(largest, resources.length);
      for (const r of resources) {
        if (r.Type === 'AWS::Lambda::Function')
          reserved += Number(r.Properties?.ReservedConcurrentExecutions ?? 0);
        if (r.Type === 'AWS::SQS::Queue') expect(nameOf(r, 'QueueName').length).toBeLessThanOrEqual(80);
        if (r.Type === 'AWS::S3::Bucket') expect(nameOf(r, 'BucketName').length).toBeLessThanOrEqual(63);
      }
    }
    expect(largest).toBeLessThan(AWS_LIMITS.resourcesPerStack);
    // 500 tenant stacks and the platform stack fit the 2,000-stack quota.
    expect(TENANTS + 1).toBeLessThanOrEqual(AWS_LIMITS.stacksPerRegion);

    // Each tenant reserves 2 models × 2 executions; the control function reserves 1 of the 900 reservable
    // executions and the notification function 5, so 894 hold 223 tenants: the 224th does not fit.
    const perTenant = MODELS.length * DEFAULT_DEDICATED.reservedConcurrency;
    expect(reserved).toBe(TENANTS * perTenant);
    const plan = dedicatedCapacity({
      models: MODELS.length,
      reservedPerFunction: DEFAULT_DEDICATED.reservedConcurrency,
    });
    expect(plan).toEqual({ byConcurrency: 223, byStacks: 1999, fit: 223, binding: 'concurrency' });
    const reservable =
      AWS_LIMITS.concurrentExecutions - AWS_LIMITS.unreservedMinimum - PLATFORM_RESERVED_CONCURRENCY;
    expect(plan.fit * perTenant).toBeLessThanOrEqual(reservable);
    expect((plan.fit + 1) * perTenant).toBeGreaterThan(reservable);
    // 500 tenants at this size need a concurrency quota of at least 500 × 4 + 100 + 6 = 2,106.
    const raised = dedicatedCapacity({
      models: MODELS.length,
      reservedPerFunction: DEFAULT_DEDICATED.reservedConcurrency,
      limits: {
        ...AWS_LIMITS,
        concurrentExecutions:
          TENANTS * perTenant + AWS_LIMITS.unreservedMinimum + PLATFORM_RESERVED_CONCURRENCY,
      },
    });
    expect(raised.fit).toBe(TENANTS);
  }, 120_000);
});
