import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoJobStore } from '../../src/adapters/aws/job-store.ts';
import { createDynamoTenantEraser } from '../../src/adapters/aws/tenant-eraser.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';

// Offboarding and promotion leave nothing of a tenant in the shared table: not even an Idempotency-Key
// whose job was never created. Tenant a1's erasure must not touch a1-x.
let aws: AwsEmulators;
let table: string;
beforeAll(async () => {
  aws = await startAwsEmulators();
  table = await aws.createTable('shared');
}, 30_000);
afterAll(async () => {
  await aws?.stop();
});

describe('the DynamoDB tenant eraser', () => {
  it("deletes every item of the tenant's partition, in pages, and nothing of another tenant", async () => {
    const a = randomTenantId();
    const ax = `${a}-x` as TenantId;
    const jobs = createDynamoJobStore({ client: aws.dynamo, tableName: table });
    for (let i = 0; i < 60; i++) await jobs.forTenant(a).create(makeJob(a));
    await jobs.forTenant(a).claimIdempotencyKey({
      key: 'orphan',
      requestHash: 'h',
      jobId: makeJob(a).id,
      createdAt: new Date().toISOString(),
    });
    for (let i = 0; i < 3; i++) await jobs.forTenant(ax).create(makeJob(ax));

    const eraser = createDynamoTenantEraser({ client: aws.dynamo, sharedTable: table });
    expect(await eraser.eraseJobItems(a)).toBe(61);
    expect(await jobs.forTenant(a).countItems()).toBe(0);
    expect(await jobs.forTenant(ax).countItems()).toBe(3);
    expect(await eraser.eraseJobItems(a)).toBe(0);
  });
});
