import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { advise, advisorFor } from '../../src/control/advisor.ts';
import { savePlans } from '../../src/control/plans.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { LIST_PRICES } from '../../src/core/advisor.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

// The advisor's load signals read a rolling 30 days of jobs while its money read the calendar month at its
// pace: one tenant's "jobs a month" and its revenue came from different jobs. Both are now this calendar
// month so far, scaled by one fraction (core/usage-period.ts `paceBasis`).
const DAY = 86_400_000;
const openPlatform = tempPlatforms('advisor-basis');
beforeEach(() => vi.useFakeTimers({ toFake: ['Date'] }));
afterEach(() => vi.useRealTimers());

describe('the advisor reads usage and money on one basis', () => {
  it("a tenant's jobs a month are the month its revenue is priced on", async () => {
    const { platform } = openPlatform();
    vi.setSystemTime(Date.parse('2026-09-01T00:00:00Z'));
    // Standard at $500 a month, $1 a job, nothing included: revenue − $500 is the jobs a month it projects.
    await savePlans(platform.billing, {
      plans: DEFAULT_PLANS.plans.map((p) =>
        p.id === 'standard'
          ? { ...p, baseFee: 50_000, included: {}, overage: { jobs: { minor: 100, per: 1 } } }
          : p,
      ),
    });
    const id = randomTenantId('basis') as TenantId;
    await createTenant(platform, { id, name: id, plan: 'standard' });
    const tenant = (await platform.directory.get(id))!;
    const jobs = tenantDataAt(platform.stores, { kind: 'shared' }, id).jobs;
    const finished = (ms: number): JobRecord =>
      makeJob(id, {
        createdAtMs: ms,
        status: 'succeeded',
        startedAt: new Date(ms).toISOString(),
        finishedAt: new Date(ms + 1000).toISOString(),
      });
    // 30 jobs on 25 October (inside a rolling 30 days, not this month), then 10 a day on 1–10 November.
    for (let i = 0; i < 30; i++) await jobs.create(finished(Date.parse('2026-10-25T08:00:00Z') + i * 1000));
    const records = [];
    for (let d = 1; d <= 10; d++) {
      const day = `2026-11-${String(d).padStart(2, '0')}`;
      for (let i = 0; i < 10; i++) {
        const job = finished(Date.parse(`${day}T08:00:00Z`) + i * 1000);
        await jobs.create(job);
        records.push({
          id: `job/${id}/${job.id}/jobs`,
          tenantId: id,
          meter: 'jobs' as const,
          model: 'finance',
          quantity: 1,
          at: job.finishedAt!,
          day,
        });
      }
    }
    await platform.usage.record(records);
    expect(tenant.createdAt < '2026-11-01').toBe(true);

    // The end of 10 November: a third of the month. 100 jobs so far is 300 a month at this pace.
    const now = Date.parse('2026-11-11T00:00:00Z');
    vi.setSystemTime(now);
    const billing = {
      directory: platform.directory,
      usage: platform.usage,
      billing: platform.billing,
      costs: EMBEDDED_MACHINE_COSTS,
    };
    const [advice] = (await advise(advisorFor({ ...platform, billing }), now)).filter(
      (r) => r.tenantId === id,
    );
    const jobsPerMonth = (advice!.monthlyCostUsd.shared - LIST_PRICES.sharedFixedUsd) / LIST_PRICES.perJobUsd;
    // Old code: 130 jobs over the last 30 days, next to money priced on 300.
    expect(jobsPerMonth).toBeCloseTo(300, 6);
    const money = advice!.marginUsd!.shared;
    // Revenue $500 + 300 × $1; the embedded machine's $40 a month is its only cost.
    expect(money).toBeCloseTo(800 - 40, 6);
    expect(now - Date.parse(tenant.createdAt)).toBeGreaterThan(30 * DAY);
  });
});
