import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { changePlan } from '../../src/control/plans.ts';
import { closeMonth, isClosed } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { Statement } from '../../src/core/statement.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { BillingItems } from '../../src/ports/billing-items.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { hookedBilling } from './hooked-billing.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  dir = mkdtempSync(join(tmpdir(), 'silopool-close-span-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  vi.useRealTimers();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const DEC_5 = Date.parse('2026-12-05T10:00:00Z');
const billingDeps = (billing: BillingItems = platform.billing) => ({
  directory: platform.directory,
  usage: platform.usage,
  billing,
  costs: EMBEDDED_MACHINE_COSTS,
});
const planDeps = (billing: BillingItems) => ({
  ...platform,
  billing,
  isClosed: (m: string) => isClosed(platform.billing, m),
});
const stored = async (id: TenantId, month: string) =>
  (await platform.billing.get<Statement>(`B#T#${id}`, `ST#${month}`))?.total;

async function standardSinceOctober(): Promise<TenantId> {
  vi.setSystemTime(Date.parse('2026-10-01T00:00:00Z'));
  const id = randomTenantId('span') as TenantId;
  await createTenant(platform, { id, name: id, plan: 'standard' });
  vi.setSystemTime(DEC_5);
  return id;
}

const hooked = (
  when: (sk: string) => boolean,
  hooks: { before?: () => Promise<unknown>; after?: () => Promise<unknown> },
) => hookedBilling(platform.billing, when, hooks);

const close = (month: string) => () => closeMonth(billingDeps(), month, DEC_5);

// A plan change from 20 October written on 5 December changes October, November and December. Two closes
// of October and November around its write: one read the plan changes before it was written, the other
// after. A close claimed a plan change once for every month, so the one that read it billed it and the
// writer, finding it billed, was answered 200 — while the other month, stored without it, never will. Now
// the later close finds the earlier month closed without a claim on it and voids it: on no statement, 409.
// Standard bills 50,000 cents a month, Enterprise 1,200,000; October 20–31 of Enterprise: 464,516 + 30,645.
describe('one backdated plan change and the closes of two of its months', () => {
  for (const [first, second] of [
    ['2026-11', '2026-10'],
    ['2026-10', '2026-11'],
  ] as const)
    it(`${first} closed before it is written and ${second} after: refused, on neither statement`, async () => {
      const id = await standardSinceOctober();
      const racing = hooked((sk) => sk.startsWith('PLAN#2026-10-20#enterprise#'), {
        before: close(first),
        after: close(second),
      });
      const outcome = await changePlan(planDeps(racing), id, 'enterprise', '2026-10-20', DEC_5).then(
        (r) => ({ ok: r.plan.id }),
        (error: unknown) => ({ error }),
      );
      // Old code: {ok: 'enterprise'}, with the month closed second billing Enterprise (October 495,161,
      // or November 1,200,000) and the first Standard.
      expect([await stored(id, '2026-10'), await stored(id, '2026-11')]).toEqual([50_000, 50_000]);
      expect(outcome).toMatchObject({ error: { status: 409, code: 'month_closed' } });
      expect((await platform.directory.get(id))!.plan).toBe('standard');
    });

  it('a backdated change written before both closes is on both statements', async () => {
    const id = await standardSinceOctober();
    vi.setSystemTime(Date.parse('2026-11-03T10:00:00Z'));
    await changePlan(planDeps(platform.billing), id, 'enterprise', '2026-10-20');
    vi.setSystemTime(DEC_5);
    await close('2026-11')();
    await close('2026-10')();
    expect([await stored(id, '2026-10'), await stored(id, '2026-11')]).toEqual([30_645 + 464_516, 1_200_000]);
  });

  it('a close waits for another month’s close: 409 close_in_progress while it runs', async () => {
    await standardSinceOctober();
    let during: unknown;
    const racing = hooked((sk) => sk === 'ST#2026-10', {
      before: () =>
        closeMonth(billingDeps(), '2026-11', DEC_5).then(
          () => undefined,
          (error: unknown) => {
            during = error;
          },
        ),
    });
    await closeMonth(billingDeps(racing), '2026-10', DEC_5);
    expect(during).toMatchObject({ status: 409, code: 'close_in_progress' });
    expect(await isClosed(platform.billing, '2026-11')).toBe(false);
    // Its turn once October is closed.
    expect((await closeMonth(billingDeps(), '2026-11', DEC_5)).length).toBeGreaterThan(0);
  });
});
