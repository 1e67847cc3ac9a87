import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyDuePlanChanges, changePlan, type PlanChangeDeps, savePlans } from '../../src/control/plans.ts';
import { closeMonth, isClosed, statementFor } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
import { limitsFor } from '../../src/core/tenant.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { fromToday } from '../support/proration.ts';

let dir: string;
let platform: EmbeddedPlatform;
let deps: PlanChangeDeps;
let changed: string[];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-plans-'));
  platform = openEmbeddedPlatform(dir);
  changed = [];
  deps = {
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    billing: platform.billing,
    isClosed: (month) => isClosed(platform.billing, month),
    tenantChanged: (id) => {
      changed.push(id);
    },
  };
  await savePlans(platform.billing, {
    plans: [
      ...DEFAULT_PLANS.plans,
      { ...DEFAULT_PLANS.plans[1]!, id: 'burst', name: 'Burst', limits: { maxRunningJobs: 5, weight: 7 } },
    ],
  });
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('plan changes', () => {
  it('a change dated today puts its limits on the tenant at once; leaving the plan takes them off', async () => {
    const id = randomTenantId('plan') as TenantId;
    await createTenant(deps, { id, name: 'P', plan: 'free', config: { limits: { jobTimeoutSec: 20 } } });
    const now = Date.parse('2026-11-15T10:00:00Z');
    expect((await changePlan(deps, id, 'burst', undefined, now)).applied).toBe(true);
    let tenant = (await platform.directory.get(id))!;
    expect(tenant.plan).toBe('standard');
    expect(limitsFor(tenant)).toMatchObject({ maxRunningJobs: 5, weight: 7, jobTimeoutSec: 20 });
    expect(changed).toEqual([id]);
    await changePlan(deps, id, 'enterprise', undefined, now + 1000);
    tenant = (await platform.directory.get(id))!;
    // Enterprise sets no limits of its own: the tier's apply again; the tenant's other override stays.
    expect(limitsFor(tenant)).toMatchObject({ maxRunningJobs: 32, weight: 4, jobTimeoutSec: 20 });
  });

  it('a future change waits for its UTC day, then applies once', async () => {
    const id = randomTenantId('plan') as TenantId;
    await createTenant(deps, { id, name: 'F', plan: 'standard' });
    const now = Date.parse('2026-11-15T10:00:00Z');
    expect((await changePlan(deps, id, 'enterprise', '2026-12-01', now)).applied).toBe(false);
    const tenants = async () => [(await platform.directory.get(id))!];
    expect(await applyDuePlanChanges(deps, await tenants(), Date.parse('2026-11-30T23:59:59Z'))).toBe(0);
    expect((await platform.directory.get(id))!.plan).toBe('standard');
    expect(await applyDuePlanChanges(deps, await tenants(), Date.parse('2026-12-01T00:00:00Z'))).toBe(1);
    expect((await platform.directory.get(id))!.plan).toBe('enterprise');
    expect(await applyDuePlanChanges(deps, await tenants(), Date.parse('2026-12-01T00:10:00Z'))).toBe(0);
  });

  it('refuses an unknown plan, a date that is not one, and a change into a closed month', async () => {
    const id = randomTenantId('plan') as TenantId;
    await createTenant(deps, { id, name: 'C' });
    await expect(changePlan(deps, id, 'gold')).rejects.toMatchObject({ status: 400 });
    await expect(changePlan(deps, id, 'free', '2026-02-30')).rejects.toMatchObject({ status: 400 });
    const billing = {
      directory: platform.directory,
      usage: platform.usage,
      billing: platform.billing,
      costs: EMBEDDED_MACHINE_COSTS,
    };
    await closeMonth(billing, '2026-01', Date.parse('2026-11-15T00:00:00Z'));
    await expect(changePlan(deps, id, 'free', '2026-01-20')).rejects.toMatchObject({ code: 'month_closed' });
  });

  // A plan taken out of the catalogue while a tenant was on it: its days were billed on the plan before
  // the change (or the tier's), silently — a tenant on a $900 plan billed $500.
  it('a plan taken out of the catalogue still bills the tenants changed to it', async () => {
    const id = randomTenantId('gone') as TenantId;
    await createTenant(deps, { id, name: 'G', plan: 'standard' });
    // This month: a statement bills a tenant from its day of creation (today), never a month before it.
    const now = Date.now();
    const month = new Date(now).toISOString().slice(0, 7);
    const burst = { ...DEFAULT_PLANS.plans[1]!, id: 'burst', name: 'Burst', baseFee: 90_000 };
    await savePlans(platform.billing, { plans: [...DEFAULT_PLANS.plans, burst] });
    await changePlan(deps, id, 'burst', `${month}-01`, now);
    await savePlans(platform.billing, DEFAULT_PLANS);
    const billing = {
      directory: platform.directory,
      usage: platform.usage,
      billing: platform.billing,
      costs: EMBEDDED_MACHINE_COSTS,
    };
    const st = await statementFor(billing, (await platform.directory.get(id))!, month);
    expect(st.lines.filter((l) => l.kind === 'base_fee')).toMatchObject([
      { planId: 'burst', amount: fromToday(90_000) },
    ]);
  });

  // One plan change into another currency once made every statement of the month throw (a 500 on each
  // tenant's billing and on the operators' summary, and a month that could not be closed).
  it('keeps one currency per month: a change or a catalogue that would mix currencies is refused', async () => {
    const euro = { ...DEFAULT_PLANS.plans[1]!, id: 'euro', name: 'Euro', currency: 'EUR' };
    await savePlans(platform.billing, { plans: [...DEFAULT_PLANS.plans, euro] });
    const id = randomTenantId('cur') as TenantId;
    const { tenant } = await createTenant(deps, { id, name: 'Cur', plan: 'standard' });
    // The test's clock is 15 November 2026: the tenant was created before it, whatever today's date (a
    // tenant created after the month it is billed for has no statement of that month).
    await platform.directory.update({ ...tenant, createdAt: '2026-11-01T00:00:00.000Z' }, tenant.version);
    const now = Date.parse('2026-11-15T10:00:00Z');
    await expect(changePlan(deps, id, 'euro', undefined, now)).rejects.toMatchObject({
      status: 409,
      code: 'plan_currency_mixed',
    });
    await expect(changePlan(deps, id, 'euro', '2026-11-20', now)).rejects.toMatchObject({ status: 409 });
    // From the 1st of a month the whole month is in euros: allowed; a dollar plan later that month is not.
    expect((await changePlan(deps, id, 'euro', '2026-12-01', now)).applied).toBe(false);
    await expect(changePlan(deps, id, 'enterprise', '2026-12-10', now)).rejects.toMatchObject({
      code: 'plan_currency_mixed',
    });
    const billing = {
      directory: platform.directory,
      usage: platform.usage,
      billing: platform.billing,
      costs: EMBEDDED_MACHINE_COSTS,
    };
    expect((await statementFor(billing, { id, plan: 'standard' }, '2026-11')).currency).toBe('USD');
    expect((await statementFor(billing, { id, plan: 'standard' }, '2026-12')).currency).toBe('EUR');

    // The catalogue: a plan keeps its currency, and so does the plan a tier falls back to.
    await expect(
      savePlans(platform.billing, { plans: [...DEFAULT_PLANS.plans, { ...euro, currency: 'USD' }] }),
    ).rejects.toMatchObject({ status: 400, problems: [{ path: '/plans/3/currency' }] });
    const plans = DEFAULT_PLANS.plans.map((p) => (p.id === 'standard' ? { ...p, currency: 'GBP' } : p));
    await expect(savePlans(platform.billing, { plans: [...plans, euro] })).rejects.toMatchObject({
      problems: [{ path: '/plans/1/currency' }],
    });
    const withoutStandard = [...DEFAULT_PLANS.plans.filter((p) => p.id !== 'standard'), euro];
    await expect(savePlans(platform.billing, { plans: withoutStandard })).rejects.toMatchObject({
      status: 400,
    });
  });
});
