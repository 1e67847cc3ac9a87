import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3ObjectStore } from '../../src/adapters/aws/object-store.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { type ObjectStore, scopeObjects } from '../../src/ports/object-store.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';

let aws: AwsEmulators;
let store: ObjectStore;

beforeAll(async () => {
  aws = await startAwsEmulators();
  store = createS3ObjectStore({ client: aws.s3, bucket: await aws.createBucket('objects') });
});
afterAll(() => aws.stop());

describe('S3 object store', () => {
  it('puts, overwrites, gets with content type, and deletes', async () => {
    const body = new TextEncoder().encode('hello');
    await store.put('tenants/a1/jobs/j/out.xlsx', body, 'application/vnd.ms-excel');
    await store.put('tenants/a1/jobs/j/out.xlsx', new TextEncoder().encode('hello!'), 'text/plain');
    const got = await store.get('tenants/a1/jobs/j/out.xlsx');
    expect(got && new TextDecoder().decode(got.body)).toBe('hello!');
    expect(got).toMatchObject({ contentType: 'text/plain', size: 6 });
    await store.delete('tenants/a1/jobs/j/out.xlsx');
    expect(await store.get('tenants/a1/jobs/j/out.xlsx')).toBeUndefined();
    await store.delete('tenants/a1/jobs/j/out.xlsx');
  });

  it('lists by prefix in key order with a cursor, and a1 does not see a1-x', async () => {
    const a1 = scopeObjects(store, 'b1' as TenantId);
    const a1x = scopeObjects(store, 'b1-x' as TenantId);
    for (const k of ['c', 'a', 'b']) await a1.put(`jobs/${k}`, new Uint8Array([1]), 'text/plain');
    await a1x.put('jobs/z', new Uint8Array([1]), 'text/plain');
    const first = await a1.list('', { limit: 2 });
    expect(first.items.map((i) => i.key)).toEqual(['jobs/a', 'jobs/b']);
    const second = await a1.list('', { limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((i) => i.key)).toEqual(['jobs/c']);
    expect(second.nextCursor).toBeUndefined();
  });
});
