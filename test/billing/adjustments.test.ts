import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idempotentWrite } from '../../src/control/billing-idempotency.ts';
import { addAdjustment, statementFor } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';
import { fromToday } from '../support/proration.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-adjust-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

// Amounts are integer minor units summed as numbers: two corrections of 2^53 − 1 cents each (any "safe
// integer" passed the check) made a total past 2^53 that was silently rounded, on the statement, its CSV
// and the operators' revenue.
/** A new standard tenant, and the billing deps of the platform. */
async function tenantWithBilling(prefix: string) {
  const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
  const id = randomTenantId(prefix) as TenantId;
  await createTenant(deps, { id, name: 'A' });
  return {
    id,
    billing: { ...deps, usage: platform.usage, billing: platform.billing, costs: EMBEDDED_MACHINE_COSTS },
  };
}

describe('adjustments', () => {
  it('are bounded like plan fees, so every total stays an exact whole number of cents', async () => {
    const { id, billing } = await tenantWithBilling('adj');
    await expect(
      addAdjustment(billing, id, { amount: Number.MAX_SAFE_INTEGER, reason: 'typo' }),
    ).rejects.toMatchObject({ status: 400, problems: [{ path: '/amount' }] });
    await expect(addAdjustment(billing, id, { amount: -1e12 - 1, reason: 'typo' })).rejects.toMatchObject({
      status: 400,
    });
    for (let i = 0; i < 3; i++) await addAdjustment(billing, id, { amount: 1e12, reason: 'largest' });
    const st = await statementFor(
      billing,
      (await platform.directory.get(id))!,
      new Date().toISOString().slice(0, 7),
    );
    expect(Number.isSafeInteger(st.total)).toBe(true);
    // Standard's $500.00 a month for the days from today, its day of creation (docs/billing.md).
    expect(st.total).toBe(3e12 + fromToday(50_000));
  });

  it('with an Idempotency-Key, a write that died after its commit and is sent again makes one correction', async () => {
    const { id, billing } = await tenantWithBilling('adk');
    const body = { amount: 500, reason: 'late fee' };
    const write = (fixed: { now: number; id: string }) =>
      addAdjustment(billing, id, body, fixed.now, fixed.id);
    // The first run commits the correction, then its process dies before the key records the answer.
    await expect(
      idempotentWrite(platform.billing, 'adjustment', 'k1', { id, ...body }, async (fixed) => {
        await write(fixed);
        throw new Error('killed');
      }),
    ).rejects.toThrow('killed');
    const again = await idempotentWrite(platform.billing, 'adjustment', 'k1', { id, ...body }, write);
    const month = new Date().toISOString().slice(0, 7);
    const st = await statementFor(billing, (await platform.directory.get(id))!, month);
    expect(st.total).toBe(500 + fromToday(50_000));
    expect(await idempotentWrite(platform.billing, 'adjustment', 'k1', { id, ...body }, write)).toEqual(
      again,
    );
  });
});
