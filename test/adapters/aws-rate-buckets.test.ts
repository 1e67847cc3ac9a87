import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoRateBuckets } from '../../src/adapters/aws/rate-buckets.ts';
import { createAdmission } from '../../src/control/admission.ts';
import { RateLimitedError } from '../../src/core/errors.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import type { MessageQueue } from '../../src/ports/message-queue.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { newTenantId } from '../support/server.ts';

// Behind API Gateway every Lambda instance runs its own admission. With per-process buckets a tenant
// gets its burst once per instance; with the buckets in DynamoDB it gets it once.
let aws: AwsEmulators;
let table: string;
beforeAll(async () => {
  aws = await startAwsEmulators();
  table = await aws.createTable('control');
}, 30_000);
afterAll(async () => {
  await aws?.stop();
});

function tenant(): Tenant {
  const config = emptyConfig();
  config.limits = { submitRatePerSec: 0.01, submitBurst: 5, maxQueuedJobs: 1000 };
  return { id: parseTenantId(newTenantId('rate')), plan: 'standard', config } as Tenant;
}

/** Two API processes' admissions, submits alternating between them; how many of `n` pass. */
async function admitted(shared: boolean, n: number): Promise<{ passed: number; refusals: unknown[] }> {
  const t = tenant();
  const buckets = shared ? createDynamoRateBuckets({ client: aws.dynamo, tableName: table }) : undefined;
  const instances = [0, 1].map(() =>
    createAdmission({
      queue: {} as MessageQueue,
      countQueued: async () => 0,
      ...(buckets ? { buckets } : {}),
    }),
  );
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => instances[i % 2]!.admitSubmit(t)),
  );
  return {
    passed: results.filter((r) => r.status === 'fulfilled').length,
    refusals: results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : [])),
  };
}

describe('submit-rate buckets shared by API processes (DynamoDB)', () => {
  it('hold a tenant to its burst across two processes, where per-process buckets give it twice', async () => {
    const perProcess = await admitted(false, 12);
    expect(perProcess.passed).toBe(10);

    const shared = await admitted(true, 12);
    expect(shared.passed).toBe(5);
    expect(shared.refusals).toHaveLength(7);
    for (const refusal of shared.refusals) {
      expect(refusal).toBeInstanceOf(RateLimitedError);
      expect((refusal as RateLimitedError).retryAfterSec).toBeGreaterThan(0);
    }
  });
});

// The bucket item outlives an offboarding (until its idle expiry), keyed by tenant id: the next customer
// under the id started with its predecessor's empty bucket and was refused its first submits.
describe('submit-rate buckets and a tenant id onboarded again', () => {
  it.each([
    ['shared (DynamoDB)', true],
    ['per process', false],
  ])("%s: the new tenant starts with a full bucket, not its predecessor's empty one", async (_, shared) => {
    const buckets = shared ? createDynamoRateBuckets({ client: aws.dynamo, tableName: table }) : undefined;
    const admission = createAdmission({
      queue: {} as MessageQueue,
      countQueued: async () => 0,
      ...(buckets ? { buckets } : {}),
    });
    const predecessor = {
      ...tenant(),
      createdAt: '2026-01-01T00:00:00.000Z',
      incarnation: 'first',
    } as Tenant;
    const passed = async (t: Tenant, n: number) =>
      (await Promise.allSettled(Array.from({ length: n }, () => admission.admitSubmit(t)))).filter(
        (r) => r.status === 'fulfilled',
      ).length;
    expect(await passed(predecessor, 6)).toBe(5);
    const successor = {
      ...predecessor,
      createdAt: new Date().toISOString(),
      incarnation: 'second',
    } as Tenant;
    expect(await passed(successor, 5)).toBe(5);
  });
});
