import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalsFrom } from '../../src/control/advisor.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { ADVISOR_WINDOW_MS, usageReport } from '../../src/control/usage.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob } from '../contract/fixtures.ts';
import { newTenantId } from '../support/server.ts';

// The advisor's periodic pass reads a tenant's jobs back 30 days only, and turns them into per-month
// signals over that window: a year-old tenant's recent burst counts as this month's load.
const DAY = 86_400_000;
let dir: string;
let platform: EmbeddedPlatform;
let tenant: Tenant;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-usage-'));
  platform = openEmbeddedPlatform(dir);
  ({ tenant } = await createTenant(platform, { id: parseTenantId(newTenantId('win')), name: 'Window' }));
  const jobs = tenantDataAt(platform.stores, { kind: 'shared' }, tenant.id).jobs;
  // 3 jobs 90 days ago, then 4 in the last week; ids sort by time like real ones.
  const at = [90, 90, 90, 6, 5, 4, 3].map((days) => Date.now() - days * DAY);
  for (const ms of at) await jobs.create(job(tenant, ms));
});
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A job finished two seconds after it was created. */
function job(t: Tenant, createdAtMs: number): JobRecord {
  const created = new Date(createdAtMs).toISOString();
  const finished = new Date(createdAtMs + 2000).toISOString();
  return makeJob(t.id, { createdAtMs, status: 'succeeded', startedAt: created, finishedAt: finished });
}

describe('usage over the advisor window', () => {
  it('counts only jobs since the window began, and signals per month over that window', async () => {
    const all = (await usageReport(platform)).find((u) => u.tenantId === tenant.id)!;
    expect(all.jobs).toBe(7);
    const recent = (await usageReport(platform, { sinceMs: Date.now() - ADVISOR_WINDOW_MS })).find(
      (u) => u.tenantId === tenant.id,
    )!;
    expect(recent.jobs).toBe(4);
    expect(recent.computeSeconds).toBe(8);

    const yearOld = { ...tenant, createdAt: new Date(Date.now() - 365 * DAY).toISOString() };
    const [windowed] = signalsFrom([yearOld], [recent], Date.now(), ADVISOR_WINDOW_MS);
    expect(windowed?.jobsPerMonth).toBeCloseTo(4, 5);
    const [lifetime] = signalsFrom([yearOld], [all]);
    expect(lifetime?.jobsPerMonth).toBeCloseTo((7 * 30) / 365, 2);
  });
});
