import { describe, expect, it } from 'vitest';
import { queueUrlPrefixIn } from '../../src/adapters/aws/regional-queue.ts';
import { createTenantRegions, notingRegions, tenantOfQueue } from '../../src/adapters/aws/tenant-regions.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { newTenantId } from '../support/server.ts';

// Which Region a tenant's own queues and stores are in, learned from the records a process reads.
describe('tenant Regions', () => {
  it('places a tenant in its contract Region once a record of it is read, else in the platform Region', async () => {
    const [eu, plain] = [newTenantId('eu'), newTenantId('us')] as TenantId[];
    const read: TenantId[] = [];
    const records = new Map<TenantId, Pick<Tenant, 'id' | 'region'>>([
      [eu!, { id: eu!, region: 'eu-west-1' }],
      [plain!, { id: plain! }],
    ]);
    const regions = createTenantRegions('us-east-1', ['eu-west-1', 'eu-central-1'], async (id) => {
      read.push(id);
      return records.get(id);
    });
    expect(regions.of(eu!)).toBe('us-east-1');
    expect(await regions.resolve(eu!)).toBe('eu-west-1');
    expect(await regions.resolve(eu!)).toBe('eu-west-1');
    expect(await regions.resolve(plain!)).toBe('us-east-1');
    await regions.resolve(plain!);
    // One read per tenant: a tenant in the platform's Region is remembered too.
    expect(read).toEqual([eu, plain]);
    expect(regions.all().sort()).toEqual(['eu-central-1', 'eu-west-1', 'us-east-1']);
    // A record that no longer names a Region moves the tenant back.
    regions.note({ id: eu! });
    expect(regions.of(eu!)).toBe('us-east-1');
  });

  it('learns Regions from every tenant the directory returns or writes', async () => {
    const id = newTenantId('dir') as TenantId;
    const tenant = { id, region: 'eu-west-1' } as Tenant;
    const directory = {
      create: async () => {},
      get: async () => tenant,
      update: async (next: Tenant) => next,
      touchApiKey: async () => {},
      list: async () => ({ items: [tenant] }),
      delete: async () => {},
    } satisfies TenantDirectory;
    for (const use of [
      (d: TenantDirectory) => d.get(id),
      (d: TenantDirectory) => d.list(),
      (d: TenantDirectory) => d.create(tenant),
      (d: TenantDirectory) => d.update(tenant, 1),
    ]) {
      const regions = createTenantRegions('us-east-1', ['eu-west-1']);
      await use(notingRegions(directory, regions));
      expect(regions.of(id)).toBe('eu-west-1');
    }
  });

  it("finds a tenant's own queues, dead-letter queues included, by name", () => {
    expect(tenantOfQueue('tenant_acme-1_finance')).toBe('acme-1');
    expect(tenantOfQueue('tenant_acme-1_finance-dlq')).toBe('acme-1');
    expect(tenantOfQueue('shared_finance')).toBeUndefined();
    expect(tenantOfQueue('system_webhooks')).toBeUndefined();
  });

  it("builds a Region's queue URLs from the platform's prefix, or leaves them to GetQueueUrl", () => {
    const prefix = 'https://sqs.us-east-1.amazonaws.com/123456789012/';
    expect(queueUrlPrefixIn(prefix, 'us-east-1', 'eu-west-1')).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/',
    );
    expect(queueUrlPrefixIn(prefix, 'us-east-1', 'us-east-1')).toBe(prefix);
    expect(queueUrlPrefixIn('http://127.0.0.1:4566/000000000000/', 'us-east-1', 'eu-west-1')).toBeUndefined();
    expect(queueUrlPrefixIn(undefined, 'us-east-1', 'eu-west-1')).toBeUndefined();
  });
});
