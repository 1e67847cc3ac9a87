import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createEmbeddedTenantEraser,
  createSqliteOperationStore,
} from '../../src/adapters/embedded/operation-store.ts';
import { ensureQueue, WEBHOOK_QUEUE } from '../../src/control/lanes.ts';
import { meterStorageDay } from '../../src/control/meter.ts';
import { offboardNow } from '../../src/control/offboard-operation.ts';
import { statementFor } from '../../src/control/statements.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { EMBEDDED_MACHINE_COSTS } from '../../src/core/costing.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { utcMonth } from '../../src/core/usage.ts';
import { tenantDataFor } from '../../src/ports/placement-data.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

const openPlatform = tempPlatforms('storage-inc');

// A tenant id offboarded and onboarded again the same day is another customer. The storage day was
// recorded once per tenant id and day (`storage/{id}/{day}`): the newcomer's own pass that day was the
// predecessor's record (the first pass of the day counts), and a record counts for whoever's lifetime
// its day overlaps: the newcomer paid for the bytes of the customer before it.
describe('the storage day of a tenant id offboarded and onboarded again the same day', () => {
  it("bills the new tenant its own bytes, not its predecessor's", async () => {
    const { platform, dir } = openPlatform();
    for (const queue of ['shared_finance', 'shared_funds', WEBHOOK_QUEUE])
      await ensureQueue(platform.queue, queue);
    const deps = {
      directory: platform.directory,
      queue: platform.queue,
      stores: platform.stores,
      usage: platform.usage,
      billing: platform.billing,
      operations: createSqliteOperationStore(platform.db),
      eraser: createEmbeddedTenantEraser(platform.db, dir, platform.jobsDb),
    };
    const billing = { ...deps, costs: EMBEDDED_MACHINE_COSTS };
    const id = parseTenantId(`stor-${randomUUID().slice(0, 8)}`);

    const { tenant: before } = await createTenant(deps, { id, name: 'Before', plan: 'standard' });
    const bytes = 123_456_789;
    await tenantDataFor(platform.stores, before).objects.put(
      'jobs/j1/result.xlsx',
      new Uint8Array(bytes),
      'application/octet-stream',
    );
    await meterStorageDay(deps, before);
    await offboardNow(deps, id);

    const { tenant: after } = await createTenant(deps, { id, name: 'After', plan: 'standard' });
    expect(after.incarnation).not.toBe(before.incarnation);
    // Its own pass: it stores nothing.
    await meterStorageDay(deps, after);
    const st = await statementFor(billing, after, utcMonth(Date.now()));
    expect(st.usage.storage_byte_days).toBe(0);
  });
});
