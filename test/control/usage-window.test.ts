import { afterEach, describe, expect, it } from 'vitest';
import { signalsFrom } from '../../src/control/advisor.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { PRICES, usageReport } from '../../src/control/usage.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import { monthSoFar, paceBasis } from '../../src/core/usage-period.ts';
import type { EmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob } from '../contract/fixtures.ts';
import { embeddedApp } from '../support/embedded-app.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';
import { newTenantId } from '../support/server.ts';

// `GET /v1/admin/usage` without a period added all-time compute to a month of storage. Every figure of the
// answer is now of one period, stated as `from`/`to`: by default the current UTC calendar month so far.
const DAY = 86_400_000;
const GIB = 1024 ** 3;
const openPlatform = tempPlatforms('usage-period');
const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** A finished job: ran 2 s at 1,024 MB, one artifact of `bytes`, finished a minute after `createdAtMs`. */
function job(t: Tenant, createdAtMs: number, bytes: number): JobRecord {
  const finishedMs = createdAtMs + 60_000;
  return makeJob(t.id, {
    createdAtMs,
    status: 'succeeded',
    startedAt: new Date(createdAtMs).toISOString(),
    finishedAt: new Date(finishedMs).toISOString(),
    computeMs: 2000,
    computedAttempts: 1,
    memoryMb: 1024,
    computeMbMs: 2000 * 1024,
    artifacts: [{ name: 'result.xlsx', key: `k-${createdAtMs}`, size: bytes, contentType: 'x', sha256: '0' }],
  } as Partial<JobRecord>);
}

async function seeded(platform: EmbeddedPlatform, now: number) {
  const { tenant } = await createTenant(platform, { id: parseTenantId(newTenantId('period')), name: 'P' });
  const jobs = tenantDataAt(platform.stores, { kind: 'shared' }, tenant.id).jobs;
  const monthStart = monthSoFar(now).fromMs;
  // Two jobs of a year and of last month (outside the month), two of this month so far.
  const inMonth = [1, 2].map((k) => Math.floor(monthStart + (k * (now - monthStart)) / 3));
  for (const ms of [now - 365 * DAY, monthStart - DAY, ...inMonth]) await jobs.create(job(tenant, ms, GIB));
  return { tenant, inMonth, monthStart };
}

/** The cost the period rule gives for `jobs` of this month: 2 GB-s each, a request each, storage to `toMs`. */
function expectedCost(finishedAt: number[], toMs: number): number {
  const gbSeconds = finishedAt.length * 2;
  const gbMonths = finishedAt.reduce((sum, f) => sum + (toMs - f) / (30 * DAY), 0);
  const usd =
    gbSeconds * PRICES.lambdaGbSecondUsd +
    finishedAt.length * PRICES.lambdaRequestUsd +
    gbMonths * PRICES.s3GbMonthUsd;
  return Math.round(usd * 1e6) / 1e6;
}

describe('usage and cost over one period', () => {
  it('GET /v1/admin/usage defaults to this UTC month so far, says so, and prices only that period', async () => {
    const { platform, dir } = openPlatform();
    const now = Date.now();
    const { tenant, inMonth, monthStart } = await seeded(platform, now);
    const { app, issuer } = await embeddedApp(platform, dir);
    apps.push(app);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const token = await issuer.mint({ subject: 'op', tenants: [], roles: ['operator'], lifetimeSec: 600 });
    const get = (query = '') =>
      fetch(`${url}/v1/admin/usage${query}`, { headers: { authorization: `Bearer ${token}` } });

    const res = await get();
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      from: string;
      to: string;
      items: {
        tenantId: string;
        jobs: number;
        computeSeconds: number;
        storageBytes: number;
        costUsd: number;
      }[];
    };
    expect(body.from).toBe(new Date(monthStart).toISOString());
    const to = Date.parse(body.to);
    expect(to).toBeGreaterThanOrEqual(now);
    const mine = body.items.find((u) => u.tenantId === tenant.id)!;
    // Old code: all 4 jobs, 8 s of compute, and a whole month of storage for all 4 GiB.
    expect(mine).toMatchObject({ jobs: 2, computeSeconds: 4, storageBytes: 2 * GIB });
    expect(mine.costUsd).toBeCloseTo(
      expectedCost(
        inMonth.map((c) => c + 60_000),
        to,
      ),
      6,
    );

    // Another period is as explicit; two at once is a 400 problem, not a guess.
    const week = (await (await get('?days=400')).json()) as { from: string; items: typeof body.items };
    expect(Date.parse(week.from)).toBeLessThanOrEqual(now - 400 * DAY + 60_000);
    expect(week.items.find((u) => u.tenantId === tenant.id)!.jobs).toBe(4);
    const lastMonth = new Date(monthStart - DAY).toISOString().slice(0, 7);
    const past = (await (await get(`?month=${lastMonth}`)).json()) as {
      to: string;
      items: typeof body.items;
    };
    expect(past.to).toBe(new Date(monthStart).toISOString());
    expect(past.items.find((u) => u.tenantId === tenant.id)!.jobs).toBe(1);
    const both = await get(`?days=3&month=${lastMonth}`);
    expect(both.status).toBe(400);
    expect(both.headers.get('content-type')).toContain('application/problem+json');
    expect((await get('?month=2026-13')).status).toBe(400);
  });

  it('the advisor reads the same calendar month and scales it as its money does', async () => {
    const { platform } = openPlatform();
    const now = Date.now();
    const { tenant } = await seeded(platform, now);
    const basis = paceBasis(now);
    const usage = await usageReport(platform, { period: basis.period }, now);
    const mine = usage.find((u) => u.tenantId === tenant.id)!;
    expect(mine.jobs).toBe(2);
    // A tenant older than the month: its 2 jobs so far, over the part of the month passed (at least a day).
    const old = { ...tenant, createdAt: new Date(now - 365 * DAY).toISOString() };
    const [signals] = signalsFrom([old], [mine], now, basis);
    const { fromMs } = basis.period;
    const monthMs =
      Date.parse(`${new Date(fromMs + 32 * DAY).toISOString().slice(0, 7)}-01T00:00:00Z`) - fromMs;
    const fraction = Math.max(DAY, now - fromMs) / monthMs;
    expect(signals!.jobsPerMonth).toBeCloseTo(2 / fraction, 6);
  });
});
