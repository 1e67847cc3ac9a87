import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { statementCsv } from '../../src/control/statement-render.ts';
import { ownStatement, ownStatements, statementFor } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { storageDayRecord, utcMonth } from '../../src/core/usage.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { UsageLedger } from '../../src/ports/usage-ledger.ts';
import { randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-own-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

// The tenant billing routes computed the statement of every tenant of the month (the platform's cost is
// attributed over all of them) on each request, reading every tenant's usage, to show one tenant a bill
// without the cost: a tenant polling its usage page made work proportional to the whole platform, and a
// tenant-facing route read other tenants' records, which the ledger's tenant view exists to prevent.
// Its CSV also printed the cost row whatever `withCost` said.
describe("a tenant's own statements", () => {
  it("are computed from the tenant's own ledger view alone, and say what the operators' do", async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const id = randomTenantId('own') as TenantId;
    const other = randomTenantId('own') as TenantId;
    const { tenant: own0 } = await createTenant(deps, { id, name: 'Own' });
    const { tenant: other0 } = await createTenant(deps, { id: other, name: 'Other' });
    const day = new Date().toISOString().slice(0, 10);
    // As the meter records them: their first day starts at their creation (core/usage.ts).
    await platform.usage.record([
      storageDayRecord(id, day, 7 * 1024 ** 3, own0.createdAt),
      storageDayRecord(other, day, 1, other0.createdAt),
    ]);
    const tenantOnly: UsageLedger = {
      record: (r) => platform.usage.record(r),
      forTenant: (t) => platform.usage.forTenant(t),
      list: () => Promise.reject(new Error('a tenant route read every tenant’s usage')),
    };
    const tenant = (await platform.directory.get(id))!;
    const month = utcMonth(Date.now());
    const own = await ownStatement({ usage: tenantOnly, billing: platform.billing }, tenant, month);
    const full = await statementFor(
      {
        directory: platform.directory,
        usage: platform.usage,
        billing: platform.billing,
        costs: EMBEDDED_MACHINE_COSTS,
      },
      tenant,
      month,
    );
    const { cost: _c, margin: _m, ...expected } = full;
    expect(own).toEqual(expected);
    expect(own).not.toHaveProperty('cost');
    expect(own.usage.storage_byte_days).toBe(7 * 1024 ** 3);
    // Its CSV has no cost row either (the tenant CSV once printed the platform's cost of the tenant).
    expect(statementCsv(own)).not.toMatch(/,cost,/);
    expect(statementCsv(full)).toMatch(/,cost,/);
    const list = await ownStatements({ usage: tenantOnly, billing: platform.billing }, tenant);
    expect(list.map((s) => s.month)).toEqual([month]);
  });
});
