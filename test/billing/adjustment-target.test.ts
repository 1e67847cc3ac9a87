import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rememberFormerTenant } from '../../src/control/former-tenants.ts';
import { addAdjustment, listAdjustments, statementFor } from '../../src/control/statements.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { storageDayRecord } from '../../src/core/usage.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-adjust-target-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const billing = () => ({
  directory: platform.directory,
  usage: platform.usage,
  billing: platform.billing,
  costs: EMBEDDED_MACHINE_COSTS,
});
const now = Date.parse('2026-12-03T10:00:00Z');

// A correction is kept by tenant id and month, and shows on that month's statement of that id. One for an id
// that has no statement that month (a typo, a tenant offboarded before it, one created after it) was answered
// 201 and stored, and was on no statement, ever: a credit the operator believed given was never given.
describe('a correction for a tenant id and month with no statement', () => {
  it('is refused (404) for an id no tenant ever had, and nothing is stored', async () => {
    const id = randomTenantId('typo') as TenantId;
    await expect(
      addAdjustment(billing(), id, { amount: -500, reason: 'goodwill credit' }, now),
    ).rejects.toMatchObject({ status: 404 });
    expect(await listAdjustments(platform.billing, id, '2026-12')).toEqual([]);
  });

  it('is taken for a month an offboarded tenant lived in, and refused for a month after', async () => {
    const id = randomTenantId('gone') as TenantId;
    const tenant = makeTenant(id, { plan: 'standard', createdAt: '2026-09-03T08:00:00.000Z' });
    await rememberFormerTenant(platform.billing, tenant, Date.parse('2026-10-20T12:00:00Z'));
    await expect(
      addAdjustment(billing(), id, { amount: -500, reason: 'late credit', month: '2026-12' }, now),
    ).rejects.toMatchObject({ status: 404 });
    await addAdjustment(billing(), id, { amount: -500, reason: 'late credit', month: '2026-10' }, now);
    const st = await statementFor(billing(), { id, plan: 'free' }, '2026-10');
    expect(st.lines.filter((l) => l.kind === 'adjustment').map((l) => l.amount)).toEqual([-500]);
  });

  it('is taken for an id with usage in the month, and for a live tenant from its month of creation', async () => {
    const used = randomTenantId('used') as TenantId;
    await platform.usage.record([storageDayRecord(used, '2026-11-05', 1024)]);
    await expect(
      addAdjustment(billing(), used, { amount: 100, reason: 'fee', month: '2026-11' }, now),
    ).resolves.toMatchObject({ amount: 100 });
    const live = randomTenantId('live') as TenantId;
    await platform.directory.create(makeTenant(live, { createdAt: '2026-11-20T09:00:00.000Z' }));
    await expect(
      addAdjustment(billing(), live, { amount: 100, reason: 'fee', month: '2026-10' }, now),
    ).rejects.toMatchObject({ status: 404 });
    await expect(
      addAdjustment(billing(), live, { amount: 100, reason: 'fee', month: '2026-11' }, now),
    ).resolves.toMatchObject({ amount: 100 });
    await expect(addAdjustment(billing(), live, { amount: 100, reason: 'fee' }, now)).resolves.toMatchObject({
      month: '2026-12',
    });
  });
});
