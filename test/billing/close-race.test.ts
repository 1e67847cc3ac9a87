import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { changePlan, planOn, savePlans } from '../../src/control/plans.ts';
import {
  addAdjustment,
  closeMonth,
  isClosed,
  listAdjustments,
  statementFor,
} from '../../src/control/statements.ts';
import { createTenant, updateTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
import type { Statement } from '../../src/core/statement.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { BillingItems } from '../../src/ports/billing-items.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { hookedBilling } from './hooked-billing.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  // Only Date is faked (tenants created on a chosen day); SQLite and timers are real.
  vi.useFakeTimers({ toFake: ['Date'] });
  dir = mkdtempSync(join(tmpdir(), 'silopool-close-race-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  vi.useRealTimers();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const NOV_15 = Date.parse('2026-11-15T10:00:00Z');
const billingDeps = (billing: BillingItems = platform.billing) => ({
  directory: platform.directory,
  usage: platform.usage,
  billing,
  costs: EMBEDDED_MACHINE_COSTS,
});
const planDeps = (billing: BillingItems = platform.billing) => ({
  ...platform,
  billing,
  isClosed: (m: string) => isClosed(platform.billing, m),
});

/** A Standard tenant created at 00:00 UTC on 1 October 2026 (so October bills its whole month). */
async function standardSinceOctober(): Promise<TenantId> {
  vi.setSystemTime(Date.parse('2026-10-01T00:00:00Z'));
  const id = randomTenantId('race') as TenantId;
  await createTenant(platform, { id, name: id, plan: 'standard' });
  vi.setSystemTime(NOV_15);
  return id;
}

const hooked = (
  when: (sk: string, doc: unknown) => boolean,
  hooks: { before?: () => Promise<unknown>; after?: () => Promise<unknown> },
) => hookedBilling(platform.billing, when, hooks);

const stored = (id: TenantId, month: string) => platform.billing.get<Statement>(`B#T#${id}`, `ST#${month}`);

// A writer of a month's billing items (a correction, a plan change, a tier change) checked that the month
// was not closed, then wrote; a close of the month that ran between the check and the write stored its
// statements without the item, and never rewrites them: the correction was answered 201 and was on no
// statement, ever; the plan change was applied to the tenant and billed from the next month only. Each
// interleaving is forced here by a hook in BillingItems.put against the real embedded SQLite store.
// October 2026 has 31 days; Standard bills 50,000 cents a month, Enterprise 1,200,000 (DEFAULT_PLANS).
describe('a write racing the close of its month', () => {
  it('a correction written just after its month closed is refused (409), not lost', async () => {
    const id = await standardSinceOctober();
    // The close runs to its end between addAdjustment's check (open) and its write.
    const racing = hooked((sk) => sk.startsWith('ADJ#2026-10#'), {
      before: () => closeMonth(billingDeps(), '2026-10', NOV_15),
    });
    const result = addAdjustment(
      billingDeps(racing),
      id,
      { amount: -500, reason: 'late credit', month: '2026-10' },
      NOV_15,
    ).then(
      (a) => ({ ok: a }),
      (error: unknown) => ({ error }),
    );
    const outcome = await result;
    const closed = (await stored(id, '2026-10'))!;
    // The stored October: Standard all 31 days, 50,000 cents, no correction (the close ran before the write).
    expect(closed.total).toBe(50_000);
    // Old code: {ok: …}, a 201 for a credit on no statement. Now: 409, and the item is void everywhere.
    expect(outcome).toMatchObject({ error: { status: 409, code: 'month_closed' } });
    expect(await listAdjustments(platform.billing, id, '2026-10')).toEqual([]);
    expect((await statementFor(billingDeps(), { id, plan: 'standard' }, '2026-10')).total).toBe(50_000);
  });

  it('a correction written just before the close read the month is on the closed statement', async () => {
    const id = await standardSinceOctober();
    // Written, then the whole close runs before the writer looks at the month again.
    const racing = hooked((sk) => sk.startsWith('ADJ#2026-10#'), {
      after: () => closeMonth(billingDeps(), '2026-10', NOV_15),
    });
    const a = await addAdjustment(
      billingDeps(racing),
      id,
      { amount: -500, reason: 'credit', month: '2026-10' },
      NOV_15,
    );
    // 50,000 − 500 = 49,500 cents, stored; the writer is answered 201 with it.
    const closed = (await stored(id, '2026-10'))!;
    expect(closed.total).toBe(49_500);
    expect((await listAdjustments(platform.billing, id, '2026-10')).map((x) => x.id)).toEqual([a.id]);
  });

  it('a plan change racing the close of its month is refused and not applied, not billed from a month later', async () => {
    const id = await standardSinceOctober();
    const racing = hooked(
      (sk, doc) => sk.startsWith('PLAN#2026-10-20#') && (doc as { planId: string }).planId === 'enterprise',
      { before: () => closeMonth(billingDeps(), '2026-10', NOV_15) },
    );
    const outcome = await changePlan(planDeps(racing), id, 'enterprise', '2026-10-20', NOV_15).then(
      (r) => ({ ok: r.plan.id }),
      (error: unknown) => ({ error }),
    );
    // October closed on Standard: 50,000 cents. Old code: {ok: 'enterprise'}, the tenant put on Enterprise's
    // limits and November billed Enterprise while October, stored, never will.
    expect((await stored(id, '2026-10'))!.total).toBe(50_000);
    expect(outcome).toMatchObject({ error: { status: 409, code: 'month_closed' } });
    const tenant = (await platform.directory.get(id))!;
    expect(tenant.plan).toBe('standard');
    expect((await planOn(platform.billing, tenant, '2026-11-15')).id).toBe('standard');
  });

  it('a plan change written just before the close read the month is on the closed statement', async () => {
    const id = await standardSinceOctober();
    const racing = hooked(
      (sk, doc) => sk.startsWith('PLAN#2026-10-20#') && (doc as { planId: string }).planId === 'enterprise',
      { after: () => closeMonth(billingDeps(), '2026-10', NOV_15) },
    );
    const r = await changePlan(planDeps(racing), id, 'enterprise', '2026-10-20', NOV_15);
    expect(r.plan.id).toBe('enterprise');
    // Standard 1–19: round(50,000 × 19 ÷ 31 = 30,645.16) = 30,645; Enterprise 20–31: 1,200,000 −
    // round(1,200,000 × 19 ÷ 31 = 735,483.87) = 464,516: 495,161 cents.
    expect((await stored(id, '2026-10'))!.total).toBe(30_645 + 464_516);
  });

  it('a tier change at the last moment of a month racing its close is refused, not billed from the next', async () => {
    const id = await standardSinceOctober();
    // 23:59:59.9 on 31 October: the patch records a change to Enterprise from 31 October…
    vi.setSystemTime(Date.parse('2026-10-31T23:59:59.900Z'));
    const racing = hooked(
      (sk, doc) => sk.startsWith('PLAN#2026-10-31#') && (doc as { planId: string }).planId === 'enterprise',
      // …and another server closes October at 00:00:01 on 1 November, before the record is written.
      { before: () => closeMonth(billingDeps(), '2026-10', Date.parse('2026-11-01T00:00:01Z')) },
    );
    const outcome = await updateTenant({ ...platform, billing: racing }, id, { plan: 'enterprise' }).then(
      (t) => ({ ok: t.plan }),
      (error: unknown) => ({ error }),
    );
    // October stored on Standard all month: 50,000 cents. Old code: {ok: 'enterprise'}, the day of Enterprise
    // in October (1,200,000 ÷ 31 = 38,709.68 → 38,710 cents) on no statement.
    expect((await stored(id, '2026-10'))!.total).toBe(50_000);
    expect(outcome).toMatchObject({ error: { status: 409, code: 'month_closed' } });
    expect((await platform.directory.get(id))!.plan).toBe('standard');
  });

  it('a plan change is refused when any month from its day on is closed, not only its own', async () => {
    const id = await standardSinceOctober();
    const DEC_5 = Date.parse('2026-12-05T10:00:00Z');
    vi.setSystemTime(DEC_5);
    await closeMonth(billingDeps(), '2026-11', DEC_5);
    // October is open, November closed (stored on Standard: 50,000). A change from 20 October would bill
    // Enterprise in October and December but not in November, which is stored.
    await expect(changePlan(planDeps(), id, 'enterprise', '2026-10-20', DEC_5)).rejects.toMatchObject({
      status: 409,
      code: 'month_closed',
      message: expect.stringContaining('2026-11'),
    });
    expect((await platform.directory.get(id))!.plan).toBe('standard');
  });

  it('a catalogue saved while a month closes prices all of its statements or none', async () => {
    const ids = [await standardSinceOctober(), await standardSinceOctober()];
    // After the close's first read of the catalogue, an operator raises Standard to 60,000 cents a month.
    let reads = 0;
    const racing: BillingItems = {
      put: (pk, sk, doc, options) => platform.billing.put(pk, sk, doc, options),
      get: async <T>(pk: string, sk: string) => {
        const doc = await platform.billing.get<T>(pk, sk);
        if (pk === 'B#plans' && ++reads === 1)
          await savePlans(platform.billing, {
            plans: DEFAULT_PLANS.plans.map((p) => (p.id === 'standard' ? { ...p, baseFee: 60_000 } : p)),
          });
        return doc;
      },
      query: (pk, prefix) => platform.billing.query(pk, prefix),
      deleteIf: (pk, sk, doc) => platform.billing.deleteIf(pk, sk, doc),
    };
    await closeMonth(billingDeps(racing), '2026-10', NOV_15);
    // Old code read the catalogue once per tenant: one October at 50,000, the other at 60,000. Now one
    // catalogue prices the whole close (the one read first): 50,000 each.
    const totals = await Promise.all(ids.map(async (id) => (await stored(id, '2026-10'))!.total));
    expect(totals).toEqual([50_000, 50_000]);
  });
});
