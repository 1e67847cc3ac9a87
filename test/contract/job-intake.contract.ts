import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../src/core/errors.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import type { JobIntake, JobSubmission } from '../../src/ports/job-intake.ts';
import type { TenantJobStore } from '../../src/ports/job-store.ts';
import type { MessageQueue, ReceivedMessage } from '../../src/ports/message-queue.ts';
import { makeJob, makeTenant, randomName, randomTenantId } from './fixtures.ts';

export type JobIntakeSetup = () => Promise<{
  intake: JobIntake;
  queue: MessageQueue;
  /** Where the intake keeps a shared tenant's records. */
  jobsOf(tenantId: TenantId): TenantJobStore;
  teardown(): Promise<void>;
}>;

/** The JobIntake port: what a submit leaves behind, whichever way an adapter makes it durable. */
export function describeJobIntakeContract(adapterName: string, setup: JobIntakeSetup): void {
  describe(`JobIntake contract: ${adapterName}`, () => {
    let ctx: Awaited<ReturnType<JobIntakeSetup>>;
    let tenant: Tenant;
    let lane: string;

    beforeEach(async () => {
      ctx = await setup();
      tenant = makeTenant(randomTenantId());
      lane = randomName('intake');
      await ctx.queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    });
    afterEach(async () => {
      await ctx.queue.deleteQueue(lane).catch(() => undefined);
      await ctx.teardown();
    });

    const submission = (job: JobRecord, key?: string): JobSubmission => ({
      job,
      ...(key ? { idempotency: { key, requestHash: 'h', jobId: job.id, createdAt: job.createdAt } } : {}),
      queue: lane,
      message: {
        body: JSON.stringify({ jobId: job.id }),
        groupId: job.tenantId,
        dedupId: job.id,
        attributes: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
      },
    });

    /** Everything on the lane within `ms` (a message may reach its queue a moment after the commit). */
    async function drainLane(ms = 800): Promise<ReceivedMessage[]> {
      const all: ReceivedMessage[] = [];
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const got = await ctx.queue.receive(lane, { maxMessages: 10, waitTimeSec: 0.2 });
        all.push(...got);
        for (const m of got) await ctx.queue.delete(lane, m.receiptHandle);
      }
      return all;
    }

    it('a created job is readable and its message, attributes included, reaches the lane once', async () => {
      const job = makeJob(tenant.id);
      expect(await ctx.intake.submit(tenant, submission(job, 'k1'))).toEqual({ kind: 'created' });
      expect(await ctx.jobsOf(tenant.id).get(job.id)).toEqual(job);
      const messages = await drainLane();
      expect(messages.map((m) => m.body)).toEqual([JSON.stringify({ jobId: job.id })]);
      expect(messages[0]!.attributes).toMatchObject({ traceparent: expect.stringMatching(/^00-a{32}-/) });
    });

    it('a key bound to another job writes nothing and names the binding', async () => {
      const first = makeJob(tenant.id);
      await ctx.intake.submit(tenant, submission(first, 'k-same'));
      const second = makeJob(tenant.id);
      const outcome = await ctx.intake.submit(tenant, submission(second, 'k-same'));
      expect(outcome).toMatchObject({ kind: 'key-taken', existing: { key: 'k-same', jobId: first.id } });
      expect(await ctx.jobsOf(tenant.id).get(second.id)).toBeUndefined();
      expect((await drainLane()).map((m) => m.body)).toEqual([JSON.stringify({ jobId: first.id })]);
    });

    it('a key already bound to this very job (an attempt that died before its job) lets the job be created', async () => {
      const job = makeJob(tenant.id);
      await ctx.jobsOf(tenant.id).claimIdempotencyKey({
        key: 'k-bound',
        requestHash: 'h',
        jobId: job.id,
        createdAt: job.createdAt,
      });
      expect(await ctx.intake.submit(tenant, submission(job, 'k-bound'))).toEqual({ kind: 'created' });
      expect(await ctx.jobsOf(tenant.id).get(job.id)).toEqual(job);
    });

    it('a job id that exists already writes nothing more', async () => {
      const job = makeJob(tenant.id);
      await ctx.intake.submit(tenant, submission(job));
      expect(await ctx.intake.submit(tenant, submission({ ...job, priority: 5 }))).toEqual({
        kind: 'job-exists',
      });
      expect((await ctx.jobsOf(tenant.id).get(job.id))?.priority).toBe(0);
      expect(await drainLane()).toHaveLength(1);
    });

    it("refuses another tenant's job", async () => {
      const other = makeJob(randomTenantId());
      await expect(ctx.intake.submit(tenant, submission(other))).rejects.toBeInstanceOf(ForbiddenError);
      expect(await ctx.jobsOf(other.tenantId).get(other.id)).toBeUndefined();
    });

    it('concurrent submits are each created once, every message on the lane', async () => {
      const jobs = Array.from({ length: 25 }, () => makeJob(tenant.id));
      const outcomes = await Promise.all(
        jobs.map((job, i) => ctx.intake.submit(tenant, submission(job, `k-${i}`))),
      );
      expect(outcomes.every((o) => o.kind === 'created')).toBe(true);
      const bodies = (await drainLane()).map((m) => m.body).sort();
      expect(bodies).toEqual(jobs.map((j) => JSON.stringify({ jobId: j.id })).sort());
    });

    it('requeue with the same dedup id does not double a message that went out', async () => {
      const job = makeJob(tenant.id);
      const sub = submission(job);
      await ctx.intake.submit(tenant, sub);
      await new Promise((r) => setTimeout(r, 50));
      await ctx.intake.requeue(tenant, lane, sub.message);
      expect(await drainLane()).toHaveLength(1);
    });

    // A tenant's retry with its Idempotency-Key re-sends a queued job: a lane whose queue is gone answered it
    // 404 `Queue {name} was not found`, the platform's queue named to the tenant as if its request were wrong.
    it('a requeue to a queue that is gone is 503 unavailable, naming no queue', async () => {
      const job = makeJob(tenant.id);
      const sub = submission(job);
      await ctx.intake.submit(tenant, sub);
      const gone = randomName('gone');
      const error = await ctx.intake.requeue(tenant, gone, sub.message).then(
        () => undefined,
        (e: unknown) => e as { code?: string; status?: number; message?: string },
      );
      expect(error).toMatchObject({ code: 'unavailable', status: 503 });
      expect(error?.message).not.toContain(gone);
    });
  });
}
