import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeMonth, monthStatements, statementFor } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { Statement } from '../../src/core/statement.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  // Only Date is faked (the creation is dated 23:59:59.9); SQLite and timers are real.
  vi.useFakeTimers({ toFake: ['Date'] });
  dir = mkdtempSync(join(tmpdir(), 'silopool-close-create-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  vi.useRealTimers();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const LAST_MOMENT = Date.parse('2026-10-31T23:59:59.900Z');
const NOV_1 = Date.parse('2026-11-01T00:00:01Z');
const billingDeps = () => ({
  directory: platform.directory,
  usage: platform.usage,
  billing: platform.billing,
  costs: EMBEDDED_MACHINE_COSTS,
});
const stored = (id: TenantId, month: string) => platform.billing.get<Statement>(`B#T#${id}`, `ST#${month}`);

/** The directory, with `hook` run once just before (`before`) or after (`after`) the first create. */
function hookedDirectory(at: 'before' | 'after', hook: () => Promise<unknown>): TenantDirectory {
  const real = platform.directory;
  return Object.assign(Object.create(real) as TenantDirectory, {
    create: async (tenant: Parameters<TenantDirectory['create']>[0]) => {
      if (at === 'before') await hook();
      await real.create(tenant);
      if (at === 'after') await hook();
    },
  });
}

/** A Standard tenant whose creation starts at 23:59:59.9 on 31 October while another server closes October. */
async function createRacingClose(at: 'before' | 'after'): Promise<TenantId> {
  const other = randomTenantId('early') as TenantId;
  vi.setSystemTime(Date.parse('2026-10-01T00:00:00Z'));
  await createTenant(platform, { id: other, name: other, plan: 'standard' });
  vi.setSystemTime(LAST_MOMENT);
  const id = randomTenantId('late') as TenantId;
  // The other server's close runs at 00:00:01 on 1 November (its clock), here between dating and writing.
  const directory = hookedDirectory(at, () => closeMonth(billingDeps(), '2026-10', NOV_1));
  await createTenant({ ...platform, directory }, { id, name: id, plan: 'standard' });
  vi.setSystemTime(Date.parse('2026-11-15T10:00:00Z'));
  return id;
}

// A tenant was dated when its creation started and written after its lanes were made; a close of its month
// on another server that listed the tenants in between stored October without it and marked it closed. Its
// October was then computed afresh on every read — an open statement of one day in a closed month — and a
// second close stored it. The creation now settles with the close (control/creation-fence.ts). October 2026
// has 31 days; Standard bills 50,000 cents a month (DEFAULT_PLANS): one day is 50,000 − round(50,000 × 30
// ÷ 31 = 48,387.10) = 1,613 cents.
describe('a tenant created while its month closes', () => {
  it('whose record the close did not list is dated the 1st of the next month, on no October statement', async () => {
    const id = await createRacingClose('before');
    const tenant = (await platform.directory.get(id))!;
    // Old code: created 2026-10-31T23:59:59.900Z, no stored October, and every read of October computed
    // an open statement of 1,613 cents for it.
    expect(tenant.createdAt).toBe('2026-11-01T00:00:00.000Z');
    expect(await stored(id, '2026-10')).toBeUndefined();
    const october = await monthStatements(billingDeps(), '2026-10');
    expect(october.map((s) => s.tenantId)).not.toContain(id);
    expect(october.every((s) => s.status === 'closed')).toBe(true);
    await expect(statementFor(billingDeps(), tenant, '2026-10')).rejects.toMatchObject({ status: 404 });
    // Closing again changes nothing; November bills it from its 1st: 50,000 cents.
    await closeMonth(billingDeps(), '2026-10', NOV_1);
    expect(await stored(id, '2026-10')).toBeUndefined();
    expect((await statementFor(billingDeps(), tenant, '2026-11')).total).toBe(50_000);
  });

  it('whose record the close listed is on the closed October statement, dated as it was', async () => {
    const id = await createRacingClose('after');
    const tenant = (await platform.directory.get(id))!;
    expect(tenant.createdAt).toBe('2026-10-31T23:59:59.900Z');
    expect((await stored(id, '2026-10'))!.total).toBe(1_613);
    expect((await statementFor(billingDeps(), tenant, '2026-11')).total).toBe(50_000);
  });
});
