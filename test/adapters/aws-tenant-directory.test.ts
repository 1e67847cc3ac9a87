import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoTenantDirectory } from '../../src/adapters/aws/tenant-directory.ts';
import { ConditionFailedError, ConflictError } from '../../src/core/errors.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';

let aws: AwsEmulators;
let directory: TenantDirectory;

beforeAll(async () => {
  aws = await startAwsEmulators();
  directory = createDynamoTenantDirectory({
    client: aws.dynamo,
    tableName: await aws.createTable('tenants'),
  });
});
afterAll(() => aws.stop());

function tenant(id: string): Tenant {
  const now = new Date().toISOString();
  return {
    id: id as TenantId,
    name: `Tenant ${id}`,
    status: 'active',
    placement: 'shared',
    plan: 'standard',
    config: emptyConfig(),
    apiKeys: [],
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

describe('DynamoDB tenant directory', () => {
  it('creates once, compare-and-sets, lists in id order with a cursor, deletes', async () => {
    const base = `d${randomUUID().slice(0, 6)}`;
    const ids = ['c', 'a', 'b'].map((s) => `${base}-${s}`);
    for (const id of ids) await directory.create(tenant(id));
    await expect(directory.create(tenant(ids[0]!))).rejects.toBeInstanceOf(ConflictError);

    const moved = await directory.update({ ...tenant(ids[1]!), placement: 'dedicated' }, 1);
    expect(moved.version).toBe(2);
    await expect(directory.update(tenant(ids[1]!), 1)).rejects.toBeInstanceOf(ConditionFailedError);
    expect((await directory.get(ids[1]! as TenantId))?.placement).toBe('dedicated');

    const first = await directory.list({ limit: 2 });
    const second = await directory.list({ limit: 2, cursor: first.nextCursor! });
    expect([...first.items, ...second.items].map((t) => t.id)).toEqual([...ids].sort());
    expect(second.nextCursor).toBeUndefined();

    await directory.delete(ids[0]! as TenantId);
    expect(await directory.get(ids[0]! as TenantId)).toBeUndefined();
  });
});
