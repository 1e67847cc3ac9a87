import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConditionFailedError, ValidationError } from '../../src/core/errors.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { encodePageCursor } from '../../src/core/page-cursor.ts';
import { type JobStore, nextVersion } from '../../src/ports/job-store.ts';
import { makeJob, randomTenantId } from './fixtures.ts';

export type JobStoreSetup = () => Promise<{ port: JobStore; teardown(): Promise<void> }>;

export function describeJobStoreContract(adapterName: string, setup: JobStoreSetup): void {
  describe(`JobStore contract: ${adapterName}`, () => {
    let ctx: Awaited<ReturnType<JobStoreSetup>>;
    let tenantId: TenantId;

    beforeEach(async () => {
      ctx = await setup();
      tenantId = randomTenantId();
    });
    afterEach(async () => {
      await ctx.teardown();
    });

    /** Jobs created a millisecond apart, inserted in shuffled order: list order must come from the ids. */
    async function seed(tenant: TenantId, n: number, shape: (i: number) => Partial<JobRecord> = () => ({})) {
      const base = Date.now() - n;
      const jobs = Array.from({ length: n }, (_, i) =>
        makeJob(tenant, { createdAtMs: base + i, ...shape(i) }),
      );
      const store = ctx.port.forTenant(tenant);
      for (const job of [...jobs].sort(() => Math.random() - 0.5)) await store.create(job);
      return jobs;
    }

    async function listAll(
      tenant: TenantId,
      query: { status?: JobRecord['status']; model?: string; limit: number },
    ) {
      const store = ctx.port.forTenant(tenant);
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const result = await store.list({ ...query, ...(cursor ? { cursor } : {}) });
        expect(result.items.length).toBeLessThanOrEqual(query.limit);
        ids.push(...result.items.map((j) => j.id));
        cursor = result.nextCursor;
        if (!cursor) break;
      }
      return ids;
    }

    it('creates and reads a job, and refuses a second create with the same id', async () => {
      const store = ctx.port.forTenant(tenantId);
      const job = makeJob(tenantId);
      await store.create(job);
      expect(await store.get(job.id)).toEqual(job);
      await expect(store.create({ ...job, status: 'running' })).rejects.toBeInstanceOf(ConditionFailedError);
      expect((await store.get(job.id))?.status).toBe('queued');
    });

    it('updates with compare-and-set on the version', async () => {
      const store = ctx.port.forTenant(tenantId);
      const job = makeJob(tenantId);
      await store.create(job);
      const stored = await store.update(nextVersion(job, { status: 'running' }), job.version);
      expect(stored).toMatchObject({ status: 'running', version: job.version + 1 });
      expect(await store.get(job.id)).toEqual(stored);
      await expect(store.update(nextVersion(job, { status: 'failed' }), job.version)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect((await store.get(job.id))?.status).toBe('running');
    });

    it('lists an updated job under the model its record names, and refuses a stale version that changes it', async () => {
      const store = ctx.port.forTenant(tenantId);
      const job = makeJob(tenantId, { model: 'finance' });
      await store.create(job);
      const running = await store.update(nextVersion(job, { status: 'running' }), job.version);
      // The embedded store's usual update leaves the model's index alone; one that changes the model must not.
      const moved = await store.update(nextVersion(running, { model: 'funds' }), running.version);
      expect(moved).toMatchObject({ model: 'funds', version: running.version + 1 });
      await expect(
        store.update(nextVersion(running, { model: 'finance' }), running.version),
      ).rejects.toBeInstanceOf(ConditionFailedError);
      expect(await listAll(tenantId, { model: 'funds', limit: 5 })).toEqual([job.id]);
      expect(await listAll(tenantId, { model: 'finance', limit: 5 })).toEqual([]);
      expect((await store.get(job.id))?.model).toBe('funds');
    });

    it("records a running job's progress without a new version, only for the delivery running it", async () => {
      const store = ctx.port.forTenant(tenantId);
      const job = makeJob(tenantId);
      await store.create(job);
      const progress = { done: 200, total: 1000, unit: 'paths' };
      // Not running yet: nothing to report on.
      expect(await store.recordProgress(job.id, job.version, progress)).toBe(false);
      const running = await store.update(nextVersion(job, { status: 'running' }), job.version);
      expect(await store.recordProgress(job.id, job.version, progress)).toBe(false);
      expect(await store.recordProgress(job.id, running.version, progress)).toBe(true);
      expect(await store.get(job.id)).toEqual({ ...running, progress });
      // The runner's compare-and-set still holds, and the finished record carries no progress.
      const done = await store.update(nextVersion(running, { status: 'succeeded' }), running.version);
      expect(await store.get(job.id)).toEqual(done);
      expect((await store.get(job.id))?.progress).toBeUndefined();
      expect(await store.recordProgress(job.id, done.version, { ...progress, done: 1000 })).toBe(false);
      expect(await store.get(job.id)).toEqual(done);
      expect(await ctx.port.forTenant(randomTenantId()).recordProgress(job.id, done.version, progress)).toBe(
        false,
      );
    });

    it('lets exactly one of two racing writers win', async () => {
      const store = ctx.port.forTenant(tenantId);
      const job = makeJob(tenantId);
      await store.create(job);
      const results = await Promise.allSettled([
        store.update(nextVersion(job, { status: 'running', attempts: 1 }), job.version),
        store.update(nextVersion(job, { status: 'cancelled' }), job.version),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConditionFailedError);
      expect(await store.get(job.id)).toEqual((won[0] as PromiseFulfilledResult<JobRecord>).value);
    });

    it('does not update a job that does not exist', async () => {
      const store = ctx.port.forTenant(tenantId);
      const job = makeJob(tenantId);
      await expect(store.update(nextVersion(job, {}), job.version)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect(await store.get(job.id)).toBeUndefined();
    });

    it('lists newest first and pages through every job once with the cursor', async () => {
      const jobs = await seed(tenantId, 23);
      const newestFirst = jobs.map((j) => j.id).reverse();
      expect(await listAll(tenantId, { limit: 5 })).toEqual(newestFirst);
      expect(await listAll(tenantId, { limit: 23 })).toEqual(newestFirst);
      const firstPage = await ctx.port.forTenant(tenantId).list({ limit: 100 });
      expect(firstPage.nextCursor).toBeUndefined();
    });

    it('refuses a cursor it did not make for this list, naming /querystring/cursor', async () => {
      await seed(tenantId, 3);
      const junk = [
        'zzzz',
        Buffer.from('JOB#z').toString('base64url'),
        Buffer.from(JSON.stringify({ pk: `T#${tenantId}`, sk: 'JOB#z' })).toString('base64url'),
        encodePageCursor('tenants', 'acme'),
        encodePageCursor(`jobs/${tenantId}`, 'IDEM#x'),
        // Another tenant's cursor: well made, for another list.
        encodePageCursor(`jobs/${randomTenantId()}`, 'JOB#z'),
        'not a cursor!',
      ];
      for (const cursor of junk) {
        const refused = await ctx.port
          .forTenant(tenantId)
          .list({ limit: 2, cursor })
          .catch((error: unknown) => error);
        expect(refused, cursor).toBeInstanceOf(ValidationError);
        expect((refused as ValidationError).problems[0]?.path).toBe('/querystring/cursor');
      }
    });

    it('filters by status and by model, also across pages', async () => {
      const jobs = await seed(tenantId, 20, (i) => ({
        status: i % 3 === 0 ? 'running' : 'queued',
        model: i % 2 === 0 ? 'finance' : 'funds',
      }));
      const expected = (keep: (j: JobRecord) => boolean) =>
        jobs
          .filter(keep)
          .map((j) => j.id)
          .reverse();
      expect(await listAll(tenantId, { status: 'running', limit: 3 })).toEqual(
        expected((j) => j.status === 'running'),
      );
      expect(await listAll(tenantId, { model: 'funds', limit: 4 })).toEqual(
        expected((j) => j.model === 'funds'),
      );
      expect(await listAll(tenantId, { status: 'queued', model: 'finance', limit: 2 })).toEqual(
        expected((j) => j.status === 'queued' && j.model === 'finance'),
      );
    });

    it('deletes a job', async () => {
      const store = ctx.port.forTenant(tenantId);
      const job = makeJob(tenantId);
      await store.create(job);
      await store.delete(job.id);
      expect(await store.get(job.id)).toBeUndefined();
      await store.delete(job.id);
    });

    it('claims an idempotency key once and returns the first claim afterwards', async () => {
      const store = ctx.port.forTenant(tenantId);
      const first = {
        key: 'k-1',
        requestHash: 'h1',
        jobId: makeJob(tenantId).id,
        createdAt: new Date().toISOString(),
      };
      expect(await store.claimIdempotencyKey(first)).toBeUndefined();
      const second = { ...first, requestHash: 'h2', jobId: makeJob(tenantId).id };
      expect(await store.claimIdempotencyKey(second)).toEqual(first);
      expect(await store.countItems()).toBe(1);
      await store.deleteIdempotencyKey('k-1');
      expect(await store.claimIdempotencyKey(second)).toBeUndefined();
    });

    it('counts jobs and idempotency keys of the tenant', async () => {
      const store = ctx.port.forTenant(tenantId);
      await seed(tenantId, 3);
      await store.claimIdempotencyKey({
        key: 'k',
        requestHash: 'h',
        jobId: makeJob(tenantId).id,
        createdAt: '',
      });
      expect(await store.countItems()).toBe(4);
    });

    it('counts queued jobs of the tenant up to a limit, following their status changes', async () => {
      const store = ctx.port.forTenant(tenantId);
      const other = `${tenantId}-x` as TenantId;
      const jobs = await seed(tenantId, 5, (i) => ({ status: i < 4 ? 'queued' : 'succeeded' }));
      await seed(other, 2, () => ({ status: 'queued' }));
      // The index behind it may be eventually consistent (DynamoDB): poll briefly.
      const settle = async (upTo: number, want: number) => {
        for (let i = 0; i < 50 && (await store.countQueued(upTo)) !== want; i++)
          await new Promise((r) => setTimeout(r, 20));
        expect(await store.countQueued(upTo)).toBe(want);
      };
      await settle(100, 4);
      await settle(2, 2);
      await settle(0, 0);
      const first = jobs[0]!;
      await store.update(nextVersion(first, { status: 'running' }), first.version);
      await settle(100, 3);
      expect(await ctx.port.forTenant(other).countQueued(100)).toBe(2);
    });

    it('keeps tenant a1 and a1-x apart in get, list, count, cursors and idempotency keys', async () => {
      const a = tenantId;
      const ax = `${a}-x` as TenantId;
      const [jobA] = await seed(a, 1);
      const jobsAx = await seed(ax, 3);
      const storeA = ctx.port.forTenant(a);
      const storeAx = ctx.port.forTenant(ax);
      const record = {
        key: 'same-key',
        requestHash: 'h',
        jobId: jobA!.id,
        createdAt: new Date().toISOString(),
      };
      expect(await storeA.claimIdempotencyKey(record)).toBeUndefined();
      expect(await storeAx.claimIdempotencyKey({ ...record, jobId: jobsAx[0]!.id })).toBeUndefined();

      expect(await storeA.get(jobsAx[0]!.id)).toBeUndefined();
      expect(await storeAx.get(jobA!.id)).toBeUndefined();
      expect(await listAll(a, { limit: 10 })).toEqual([jobA!.id]);
      expect(await listAll(ax, { limit: 10 })).toEqual(jobsAx.map((j) => j.id).reverse());
      expect(await storeA.countItems()).toBe(2);
      expect(await storeAx.countItems()).toBe(4);

      // A cursor from a1-x's list, replayed in a1's view, must not reach a1-x's items.
      const pageAx = await storeAx.list({ limit: 1 });
      expect(pageAx.nextCursor).toBeDefined();
      const replay = await storeA
        .list({ limit: 10, cursor: pageAx.nextCursor! })
        .catch(() => ({ items: [] }));
      for (const item of replay.items) expect(item.tenantId).toBe(a);

      // Writes naming the other tenant's job are refused or land nowhere near it.
      await storeA.delete(jobsAx[0]!.id);
      expect(await storeAx.get(jobsAx[0]!.id)).toBeDefined();
      await expect(storeA.create(makeJob(ax))).rejects.toThrow();
      await expect(storeA.update(nextVersion(jobsAx[0]!, {}), jobsAx[0]!.version)).rejects.toThrow();
      expect(await storeAx.get(jobsAx[0]!.id)).toEqual(jobsAx[0]);
    });
  });
}
