import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoJobStore } from '../../src/adapters/aws/job-store.ts';
import { ConditionFailedError, ValidationError } from '../../src/core/errors.ts';
import { newJobId, type TenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import type { JobStore } from '../../src/ports/job-store.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';

let aws: AwsEmulators;
let store: JobStore;

beforeAll(async () => {
  aws = await startAwsEmulators();
  store = createDynamoJobStore({ client: aws.dynamo, tableName: await aws.createTable('jobs') });
});
afterAll(() => aws.stop());

const tenant = (base = 't') => `${base}${randomUUID().slice(0, 8)}` as TenantId;

function job(tenantId: TenantId, at: number, patch: Partial<JobRecord> = {}): JobRecord {
  const now = new Date(at).toISOString();
  return {
    id: newJobId(at),
    tenantId,
    model: 'finance',
    modelVersion: '1.0.0',
    status: 'queued',
    input: { discountRate: 0.1, flows: [1, 2.5, -3] },
    effectiveInput: { discountRate: 0.1 },
    rules: {},
    artifacts: [],
    attempts: 0,
    cost: 1,
    priority: 0,
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...patch,
  };
}

describe('DynamoDB job store', () => {
  it('creates once, reads back whole, and compare-and-sets on version', async () => {
    const jobs = store.forTenant(tenant());
    const created = job(jobs.tenantId, Date.now());
    await jobs.create(created);
    await expect(jobs.create(created)).rejects.toBeInstanceOf(ConditionFailedError);
    expect(await jobs.get(created.id)).toEqual(created);

    const running = await jobs.update({ ...created, status: 'running', attempts: 1 }, 1);
    expect(running.version).toBe(2);
    await expect(jobs.update({ ...created, status: 'cancelled' }, 1)).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
    expect((await jobs.get(created.id))?.status).toBe('running');
  });

  it('keeps tenant a1 and a1-x apart although one id prefixes the other', async () => {
    const a1 = tenant('a');
    const a1x = `${a1}-x` as TenantId;
    const mine = job(a1, Date.now());
    await store.forTenant(a1).create(mine);
    await store.forTenant(a1x).create(job(a1x, Date.now()));
    expect(await store.forTenant(a1x).get(mine.id)).toBeUndefined();
    expect((await store.forTenant(a1).list({ limit: 10 })).items.map((j) => j.tenantId)).toEqual([a1]);
    expect(await store.forTenant(a1).countItems()).toBe(1);
  });

  it('lists newest first with filters and a cursor that cannot cross tenants', async () => {
    const jobs = store.forTenant(tenant());
    const start = Date.now() - 100_000;
    const all = Array.from({ length: 7 }, (_, i) =>
      job(jobs.tenantId, start + i * 1000, { status: i % 2 === 0 ? 'succeeded' : 'queued' }),
    );
    for (const j of all) await jobs.create(j);
    const newest = [...all].reverse();

    const first = await jobs.list({ limit: 3 });
    expect(first.items.map((j) => j.id)).toEqual(newest.slice(0, 3).map((j) => j.id));
    const second = await jobs.list({ limit: 3, cursor: first.nextCursor! });
    const third = await jobs.list({ limit: 3, cursor: second.nextCursor! });
    expect([...second.items, ...third.items].map((j) => j.id)).toEqual(newest.slice(3).map((j) => j.id));
    expect(third.nextCursor).toBeUndefined();

    const succeeded = await jobs.list({ limit: 2, status: 'succeeded' });
    expect(succeeded.items.every((j) => j.status === 'succeeded')).toBe(true);
    const rest = await jobs.list({ limit: 10, status: 'succeeded', cursor: succeeded.nextCursor! });
    expect(succeeded.items.length + rest.items.length).toBe(4);
    expect(rest.nextCursor).toBeUndefined();

    const other = store.forTenant(tenant());
    await expect(other.list({ limit: 3, cursor: first.nextCursor! })).rejects.toBeInstanceOf(ValidationError);
    await expect(other.list({ limit: 3, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('claims an idempotency key once and counts it as an item', async () => {
    const jobs = store.forTenant(tenant());
    const record = { key: 'k-1', requestHash: 'h1', jobId: newJobId(), createdAt: new Date().toISOString() };
    expect(await jobs.claimIdempotencyKey(record)).toBeUndefined();
    expect(await jobs.claimIdempotencyKey({ ...record, requestHash: 'h2', jobId: newJobId() })).toEqual(
      record,
    );
    expect(await jobs.countItems()).toBe(1);
    await jobs.deleteIdempotencyKey('k-1');
    expect(await jobs.claimIdempotencyKey(record)).toBeUndefined();
  });

  it('refuses to write a job of another tenant through a view', async () => {
    const jobs = store.forTenant(tenant());
    await expect(jobs.create(job(tenant(), Date.now()))).rejects.toThrow(/another tenant/);
  });
});
