import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changePlan } from '../../src/control/plans.ts';
import { addAdjustment, closeMonth, isClosed, statementFor } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { storageDayRecord } from '../../src/core/usage.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { BillingItems } from '../../src/ports/billing-items.ts';
import { randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-close-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

// A close stores each tenant's statement, then marks the month closed. Killed between the two, the month
// still took corrections and plan changes (201), but the statements already stored are never rewritten:
// a correction accepted then was on no statement, ever.
describe('closing a month killed midway', () => {
  it('takes no correction or plan change the stored statements would miss, and completes when retried', async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const ids = [randomTenantId('close'), randomTenantId('close')] as TenantId[];
    for (const id of ids) await createTenant(deps, { id, name: id });
    await platform.usage.record(ids.map((id) => storageDayRecord(id, '2026-10-05', 1024)));
    let puts = 0;
    const crashing: BillingItems = {
      ...platform.billing,
      put: async (pk, sk, doc, options) => {
        if (sk.startsWith('ST#') && ++puts === 2) throw new Error('killed');
        return platform.billing.put(pk, sk, doc, options);
      },
      get: (pk, sk) => platform.billing.get(pk, sk),
      query: (pk, prefix) => platform.billing.query(pk, prefix),
    };
    const base = { directory: platform.directory, usage: platform.usage, costs: EMBEDDED_MACHINE_COSTS };
    const now = Date.parse('2026-11-15T10:00:00Z');
    await expect(closeMonth({ ...base, billing: crashing }, '2026-10', now)).rejects.toThrow('killed');

    const billing = { ...base, billing: platform.billing };
    expect(await isClosed(platform.billing, '2026-10')).toBe(true);
    for (const id of ids) {
      await expect(
        addAdjustment(billing, id, { amount: -500, reason: 'late credit', month: '2026-10' }, now),
      ).rejects.toMatchObject({ status: 409, code: 'month_closed' });
    }
    await expect(
      changePlan(
        { ...deps, billing: platform.billing, isClosed: (m) => isClosed(platform.billing, m) },
        ids[1]!,
        'enterprise',
        '2026-10-20',
        now,
      ),
    ).rejects.toMatchObject({ code: 'month_closed' });

    const closed = await closeMonth(billing, '2026-10', now);
    const mine = closed.filter((s) => ids.includes(s.tenantId));
    expect(mine.map((s) => s.status)).toEqual(['closed', 'closed']);
    for (const id of ids) {
      const st = await statementFor(billing, (await platform.directory.get(id))!, '2026-10');
      expect(st.status).toBe('closed');
      expect(st.lines.some((l) => l.kind === 'adjustment')).toBe(false);
    }
  });
});
