import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportUsage, setBillingCustomer } from '../../src/control/billing-export.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { UsageRecord } from '../../src/core/usage.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-customer-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const jobRecord = (tenantId: TenantId, jobId: string, at: string): UsageRecord => ({
  id: `job/${tenantId}/${jobId}/jobs`,
  tenantId,
  meter: 'jobs',
  model: 'finance',
  quantity: 1,
  at,
  day: at.slice(0, 10),
});

// The customer id at the billing provider was kept by tenant id: once the id was offboarded and created
// again for another customer, the new tenant's usage was sent to the old customer's account.
describe('the billing customer of a tenant id created again', () => {
  it("sends each tenant's usage to its own customer, never to its predecessor's", async () => {
    const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
    const billing = { billing: platform.billing, directory: platform.directory, usage: platform.usage };
    const id = randomTenantId('cust') as TenantId;
    await createTenant(deps, { id, name: 'Old' });
    await setBillingCustomer(billing, id, 'cus_Old');
    const old = (await platform.directory.get(id))!;
    const oldAt = new Date(Date.parse(old.createdAt) + 1).toISOString();
    await platform.directory.delete(id);
    await new Promise((r) => setTimeout(r, 20));
    await createTenant(deps, { id, name: 'New' });
    const fresh = (await platform.directory.get(id))!;
    const newAt = new Date(Date.parse(fresh.createdAt) + 1000).toISOString();
    await platform.usage.record([jobRecord(id, 'j1', oldAt), jobRecord(id, 'j2', newAt)]);

    const path = join(dir, 'events.jsonl');
    const tomorrow = Date.parse(newAt) + 2 * 86_400_000;
    const range = { from: oldAt.slice(0, 10), to: newAt.slice(0, 10) };
    const first = await exportUsage(billing, { kind: 'file', path }, range, tomorrow);
    const sent = () =>
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { identifier: string; payload: { stripe_customer_id: string } })
        .map((e) => [e.identifier, e.payload.stripe_customer_id]);
    // The new tenant has no customer yet: its usage waits, named; the old tenant's goes to the old customer.
    expect(sent()).toEqual([[`job/${id}/j1/jobs`, 'cus_Old']]);
    expect(first.tenantsWithoutCustomer).toEqual([id]);

    await setBillingCustomer(billing, id, 'cus_New');
    rmSync(path);
    await exportUsage(billing, { kind: 'file', path }, range, tomorrow);
    expect(sent().sort()).toEqual([
      [`job/${id}/j1/jobs`, 'cus_Old'],
      [`job/${id}/j2/jobs`, 'cus_New'],
    ]);
  });
});
