import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TenantId } from '../../src/core/ids.ts';
import { laneHourRecord, storageDayRecord, type UsageRecord } from '../../src/core/usage.ts';
import { type JobStore, nextVersion } from '../../src/ports/job-store.ts';
import type { UsageLedger } from '../../src/ports/usage-ledger.ts';
import { makeJob, randomTenantId } from './fixtures.ts';

export type UsageLedgerSetup = () => Promise<{
  port: UsageLedger;
  /** A job store that meters finished jobs into `port`. */
  jobs: JobStore;
  teardown(): Promise<void>;
}>;

/** The usage ledger's promises: one record per id whatever the repeats, tenant views see only their tenant. */
export function describeUsageLedgerContract(adapterName: string, setup: UsageLedgerSetup): void {
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
