import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failJob } from '../../src/control/dead-letter-settler.ts';
import { endAttempt, startAttempt } from '../../src/core/attempt-time.ts';
import { ConditionFailedError } from '../../src/core/errors.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import {
  laneHourRecord,
  requeuedBilling,
  storageDayRecord,
  type UsageRecord,
  usageOfFinishedJob,
} from '../../src/core/usage.ts';
import { type JobStore, nextVersion } from '../../src/ports/job-store.ts';
import type { UsageLedger } from '../../src/ports/usage-ledger.ts';
import { makeJob, randomTenantId } from './fixtures.ts';

export type UsageLedgerSetup = () => Promise<{
  port: UsageLedger;
  /** A job store that meters finished jobs into `port`. */
  jobs: JobStore;
  /**
   * The same job store metering into `ledger` (which writes through to `port`), where the finish and its
   * usage are two writes; absent where they are one transaction, so no reader can see one without the other.
   */
  meteringInto?(ledger: UsageLedger): JobStore;
  teardown(): Promise<void>;
}>;

/** The usage ledger's promises: one record per id whatever the repeats, tenant views see only their tenant. */
export function describeUsageLedgerContract(
  adapterName: string,
  setup: UsageLedgerSetup,
  /** Whether a finish and its usage are two writes (a dedicated database, DynamoDB), not one transaction. */
  { separateWrites }: { separateWrites: boolean },
): void {
  describe(`UsageLedger contract: ${adapterName}`, () => {
    let ctx: Awaited<ReturnType<UsageLedgerSetup>>;
    let tenant: TenantId;
    beforeEach(async () => {
      ctx = await setup();
      tenant = randomTenantId('u');
    });
    afterEach(async () => {
      await ctx.teardown();
    });

    it('stores a record once however often it is written, and the first write wins', async () => {
      const first = storageDayRecord(tenant, '2026-11-03', 1000);
      expect(await ctx.port.record([first])).toBe(1);
      expect(await ctx.port.record([first, { ...first, quantity: 99 }])).toBe(0);
      const listed = await ctx.port.forTenant(tenant).list({ from: '2026-11-01', to: '2026-11-30' });
      expect(listed).toEqual([first]);
    });

    // A record's id is what makes it one: the DynamoDB ledger keyed it by day and id, so a job finished twice
    // on either side of a UTC midnight (a run cut off after its write-ahead usage, or one that lost its
    // version race, and the redelivery that finished it) was billed twice, both runs' compute too.
    it('stores a record once when a repeat of it names another UTC day, and the first write wins', async () => {
      const job = makeJob(tenant, { model: 'funds', effectiveInput: { simulations: 40 } });
      const finished = (startedAt: string, finishedAt: string) =>
        usageOfFinishedJob({ ...job, status: 'succeeded', attempts: 1, startedAt, finishedAt });
      const first = finished('2026-11-06T23:59:58.000Z', '2026-11-06T23:59:59.500Z');
      const again = finished('2026-11-07T00:04:00.000Z', '2026-11-07T00:04:03.000Z');
      expect(first.map((r) => r.day)).toEqual(['2026-11-06', '2026-11-06', '2026-11-06']);
      expect(await ctx.port.record(first)).toBe(3);
      expect(await ctx.port.record(again)).toBe(0);
      const range = { from: '2026-11-01', to: '2026-11-30' };
      const byId = (a: UsageRecord, b: UsageRecord) => (a.id < b.id ? -1 : 1);
      expect((await ctx.port.forTenant(tenant).list(range)).sort(byId)).toEqual([...first].sort(byId));
      const all = (await ctx.port.list(range)).filter((r) => r.tenantId === tenant);
      expect(all.sort(byId)).toEqual([...first].sort(byId));
    });

    it('meters a job once when the finish that lost its race and the one that won fall on two UTC days', async () => {
      const store = ctx.jobs.forTenant(tenant);
      const job = makeJob(tenant);
      await store.create(job);
      const running = await store.update(
        nextVersion(job, { status: 'running', startedAt: '2026-11-06T23:58:00.000Z', attempts: 1 }),
        job.version,
      );
      // The message's visibility ran out: a redelivery took the job over after midnight…
      const retaken = await store.update(
        nextVersion(running, { startedAt: '2026-11-07T00:00:30.000Z', attempts: 2 }),
        running.version,
      );
      // …and the first run finished unaware, just before it: its compare-and-set fails.
      await expect(
        store.update(
          nextVersion(running, { status: 'succeeded', finishedAt: '2026-11-06T23:59:59.000Z' }),
          running.version,
        ),
      ).rejects.toBeInstanceOf(ConditionFailedError);
      await store.update(
        nextVersion(retaken, { status: 'succeeded', finishedAt: '2026-11-07T00:00:40.000Z' }),
        retaken.version,
      );
      const records = await ctx.port.forTenant(tenant).list({ from: '2026-11-01', to: '2026-11-30' });
      expect(records.map((r) => r.meter).sort()).toEqual(['compute_mb_ms', 'jobs']);
    });

    it('lists by inclusive day range, per tenant and across tenants', async () => {
      const other = randomTenantId('u');
      const records: UsageRecord[] = [
        storageDayRecord(tenant, '2026-10-31', 1),
        storageDayRecord(tenant, '2026-11-01', 2),
        laneHourRecord(tenant, Date.parse('2026-11-30T23:59:00Z')),
        storageDayRecord(tenant, '2026-12-01', 3),
        storageDayRecord(other, '2026-11-15', 4),
      ];
      await ctx.port.record(records);
      const mine = await ctx.port.forTenant(tenant).list({ from: '2026-11-01', to: '2026-11-30' });
      expect(mine.map((r) => r.quantity).sort()).toEqual([1, 2]);
      expect(mine.every((r) => r.tenantId === tenant)).toBe(true);
      const all = (await ctx.port.list({ from: '2026-11-01', to: '2026-11-30' })).filter(
        (r) => r.tenantId === tenant || r.tenantId === other,
      );
      expect(all.map((r) => r.id).sort()).toEqual([records[1]!.id, records[2]!.id, records[4]!.id].sort());
    });

    it('a tenant named as a prefix of another never sees its records', async () => {
      const longer = `${tenant}-x` as TenantId;
      await ctx.port.record([storageDayRecord(longer, '2026-11-02', 7)]);
      expect(await ctx.port.forTenant(tenant).list({ from: '2026-11-01', to: '2026-11-30' })).toEqual([]);
    });

    it('refuses a tenant id that is not one', () => {
      expect(() => ctx.port.forTenant('T#x' as TenantId)).toThrow();
    });

    it('a job store meters a job once when it finishes, however often the finished record is written', async () => {
      const store = ctx.jobs.forTenant(tenant);
      const job = makeJob(tenant, { model: 'funds', effectiveInput: { simulations: 250 } });
      await store.create(job);
      const running = await store.update(
        nextVersion(job, { status: 'running', startedAt: '2026-11-04T10:00:00.000Z', attempts: 1 }),
        job.version,
      );
      const range = { from: '2026-11-01', to: '2026-11-30' };
      expect(await ctx.port.forTenant(tenant).list(range)).toEqual([]);
      const done = await store.update(
        nextVersion(running, { status: 'succeeded', finishedAt: '2026-11-04T10:00:02.500Z' }),
        running.version,
      );
      // The outbox mark and any later write of the finished job: same ids, no new records.
      await store.update(nextVersion(done, { announcedAt: new Date().toISOString() }), done.version);
      const records = await ctx.port.forTenant(tenant).list(range);
      expect(Object.fromEntries(records.map((r) => [r.meter, r.quantity]))).toEqual({
        jobs: 1,
        compute_mb_ms: 2500 * 512,
        mc_paths: 250,
      });
      expect(records.every((r) => r.model === 'funds' && r.day === '2026-11-04')).toBe(true);
    });

    // Only where the finish and its usage are two writes: in one transaction no reader can see one alone.
    if (separateWrites)
      it('a reader that sees a job finished also sees its usage', async () => {
        if (!ctx.meteringInto) throw new Error('a ledger of separate writes must give meteringInto');
        // The billing route read right after a job read `succeeded` had `jobs` without `mc_paths` (CI, stop 23):
        // a ledger that looks at the job from a reader's side before each of its records reaches the table.
        const seenFinishedWithout: string[] = [];
        let store: ReturnType<JobStore['forTenant']>;
        let jobId: JobRecord['id'];
        const watching: UsageLedger = {
          ...ctx.port,
          async record(records) {
            for (const r of records) {
              const seen = await store.get(jobId);
              const have = await ctx.port.forTenant(r.tenantId).list({ from: r.day, to: r.day });
              if (seen?.status === 'succeeded' && !have.some((h) => h.id === r.id))
                seenFinishedWithout.push(r.meter);
              await ctx.port.record([r]);
            }
            return records.length;
          },
        };
        store = ctx.meteringInto(watching).forTenant(tenant);
        const job = makeJob(tenant, { model: 'funds', effectiveInput: { simulations: 300 } });
        jobId = job.id;
        await store.create(job);
        const running = await store.update(
          nextVersion(job, { status: 'running', startedAt: '2026-11-05T09:00:00.000Z', attempts: 1 }),
          job.version,
        );
        await store.update(
          nextVersion(running, { status: 'succeeded', finishedAt: '2026-11-05T09:00:01.000Z' }),
          running.version,
        );
        expect(seenFinishedWithout).toEqual([]);
        const records = await ctx.port.forTenant(tenant).list({ from: '2026-11-05', to: '2026-11-05' });
        expect(Object.fromEntries(records.map((r) => [r.meter, r.quantity]))).toEqual({
          jobs: 1,
          compute_mb_ms: 1000 * 512,
          mc_paths: 300,
        });
      });

    it('a job the server settles is billed the run its attempt was seen, not the time until the settle', async () => {
      const store = ctx.jobs.forTenant(tenant);
      const job = makeJob(tenant);
      await store.create(job);
      const running = await store.update(
        nextVersion(job, { status: 'running', startedAt: '2026-11-06T08:00:00.000Z', attempts: 1 }),
        job.version,
      );
      // Its last evidence of running (a progress write), then its process died: a dead letter, settled now.
      const progress = { done: 1, total: 3, unit: 'steps', at: '2026-11-06T08:00:04.250Z' };
      expect(await store.recordProgress(job.id, running.version, progress)).toBe(true);
      const failed = await failJob(store, job.id, { code: 'dead_lettered', message: 'Dead-lettered.' });
      expect(failed).toMatchObject({ status: 'failed', computeMs: 4250, computedAttempts: 1 });
      const records = await ctx.port.forTenant(tenant).list({ from: '2026-01-01', to: '2100-12-31' });
      // finishedAt − startedAt is the time until now: the old rule billed all of it.
      expect(Object.fromEntries(records.map((r) => [r.meter, r.quantity]))).toEqual({
        jobs: 1,
        compute_mb_ms: 4250 * 512,
      });
    });

    it('a redriven dead letter bills its later run once, on top of the first finish, and a retry once', async () => {
      const store = ctx.jobs.forTenant(tenant);
      const job = makeJob(tenant);
      await store.create(job);
      const running = await store.update(
        nextVersion(job, { status: 'running', startedAt: '2026-11-07T08:00:00.000Z', attempts: 1 }),
        job.version,
      );
      expect(
        await store.recordProgress(job.id, running.version, {
          done: 1,
          total: 2,
          unit: 'steps',
          at: '2026-11-07T08:00:01.000Z',
        }),
      ).toBe(true);
      const dead = await failJob(store, job.id, { code: 'dead_lettered', message: 'Dead-lettered.' });
      if (typeof dead !== 'object') throw new Error(`not settled: ${dead}`);
      // Redriven (control/dead-letters.ts): queued again, what its finish billed kept on it.
      const { error: _e, finishedAt: _f, ...rest } = dead;
      const queued = await store.update(
        nextVersion(rest, { status: 'queued', ...requeuedBilling(dead) }),
        dead.version,
      );
      // Its run after the redrive: a plain retry first (an attempt failed, to be retried: it stays running), then
      // a success.
      const second = await store.update(
        nextVersion(queued, { status: 'running', ...startAttempt(queued, '2026-11-08T09:00:00.000Z', 1024) }),
        queued.version,
      );
      const retried = await store.update(
        nextVersion(second, endAttempt(second, Date.parse('2026-11-08T09:00:00.500Z'))),
        second.version,
      );
      const third = await store.update(
        nextVersion(retried, {
          status: 'running',
          ...startAttempt(retried, '2026-11-08T09:01:00.000Z', 1024),
        }),
        retried.version,
      );
      const finishedAt = '2026-11-08T09:01:02.000Z';
      const done = await store.update(
        nextVersion(third, { status: 'succeeded', finishedAt, ...endAttempt(third, Date.parse(finishedAt)) }),
        third.version,
      );
      // The completion delivered again, and a reconciliation pass: nothing more.
      await store.update(nextVersion(done, { announcedAt: finishedAt }), done.version);
      expect(await ctx.port.record(usageOfFinishedJob(done))).toBe(0);
      const records = await ctx.port.forTenant(tenant).list({ from: '2026-01-01', to: '2100-12-31' });
      // The dead letter's finish (settled now) as it was billed; the redriven run's two attempts on their finish.
      expect(records.map((r) => [r.id.split('/').slice(3).join('/'), r.quantity]).sort()).toEqual([
        ['compute_mb_ms', 1000 * 512],
        ['compute_mb_ms/after-1', 500 * 1024 + 2000 * 1024],
        ['jobs', 1],
      ]);
    });

    it('a job cancelled before it ran is not metered', async () => {
      const store = ctx.jobs.forTenant(tenant);
      const job = makeJob(tenant);
      await store.create(job);
      await store.update(nextVersion(job, { status: 'cancelled', finishedAt: new Date().toISOString() }), 1);
      const today = new Date().toISOString().slice(0, 10);
      expect(await ctx.port.forTenant(tenant).list({ from: today, to: today })).toEqual([]);
    });
  });
}
