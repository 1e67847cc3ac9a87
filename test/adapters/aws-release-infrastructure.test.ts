import { describe, expect, it } from 'vitest';
import { artifactsOf, createReleaseInfrastructure } from '../../src/adapters/aws/release-infrastructure.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import type { TenantInfrastructure } from '../../src/ports/tenant-infrastructure.ts';
import { newTenantId } from '../support/server.ts';

// The stack infrastructure itself is tested against the CloudFormation emulator
// (aws-stack-infrastructure.test.ts); here each (Region, release) one records what it was asked, to
// prove which Region, template and code a tenant's stack gets.
function tenant(region?: string, release?: string): Tenant {
  const now = new Date().toISOString();
  return {
    id: parseTenantId(newTenantId('geo')),
    name: 'Geo',
    status: 'active',
    placement: 'dedicated',
    plan: 'enterprise',
    config: emptyConfig(),
    apiKeys: [],
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...(region ? { region } : {}),
    ...(release ? { release } : {}),
  };
}

describe('tenant stacks by Region and release', () => {
  const base = {
    templateUrl: 'https://assets.s3.amazonaws.com/platform/tenant-template.json',
    code: { bucket: 'silopool-code', key: 'bundles/model-function.zip' },
  };
  const calls: { region: string; templateUrl: string; bucket: string; key: string; tenantId: string }[] = [];
  const tenants = new Map<string, Tenant>();
  const infrastructure = createReleaseInfrastructure({
    regions: { region: 'us-east-1', dedicatedRegions: 'any' },
    artifacts: artifactsOf(base, 'us-east-1'),
    create: (region, artifacts): TenantInfrastructure => ({
      speed: 'slow',
      async deploy(t) {
        calls.push({ region, templateUrl: artifacts.templateUrl, ...artifacts.code, tenantId: t.id });
        return 'deployed';
      },
      async remove(tenantId) {
        calls.push({ region, templateUrl: artifacts.templateUrl, ...artifacts.code, tenantId });
        return 'removed';
      },
    }),
    releaseOf: async (t) => t.release ?? 'builtin',
    regionOf: async (id) => tenants.get(id)?.region,
  });

  it("deploys a tenant's stack in its contract Region, from its release's template and code", async () => {
    const home = tenant();
    const eu = tenant('eu-central-1', 'r7');
    tenants.set(eu.id, eu);
    await infrastructure.deploy(home);
    await infrastructure.deploy(eu);
    await infrastructure.remove(eu.id);
    expect(calls).toEqual([
      {
        region: 'us-east-1',
        templateUrl: base.templateUrl,
        bucket: 'silopool-code',
        key: base.code.key,
        tenantId: home.id,
      },
      {
        region: 'eu-central-1',
        templateUrl: 'https://assets.s3.amazonaws.com/platform/releases/r7/tenant-template.json',
        bucket: 'silopool-code-eu-central-1',
        key: 'releases/r7/model-function.zip',
        tenantId: eu.id,
      },
      {
        region: 'eu-central-1',
        templateUrl: base.templateUrl,
        bucket: 'silopool-code-eu-central-1',
        key: base.code.key,
        tenantId: eu.id,
      },
    ]);
  });

  it('refuses a Region the platform cannot deploy to', async () => {
    const limited = createReleaseInfrastructure({
      regions: { region: 'us-east-1', dedicatedRegions: ['us-east-1'] },
      artifacts: artifactsOf(base, 'us-east-1'),
      create: () => {
        throw new Error('no stack may be made');
      },
      releaseOf: async () => 'builtin',
      regionOf: async () => undefined,
    });
    await expect(limited.deploy(tenant('ap-south-1'))).rejects.toMatchObject({ code: 'region_unavailable' });
  });
});
