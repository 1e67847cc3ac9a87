import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiRequestCounter } from '../../src/control/meter.ts';
import { recordsOfIncarnation } from '../../src/core/billing-incarnation.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { newTenantId } from '../support/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-api-requests-'));
const platform = openEmbeddedPlatform(dir);
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The API meter counts requests in memory and writes them once per interval. Billing tells the incarnations
// of a tenant id apart by time (a record at or after the live tenant's createdAt is its own), and every
// batch was stamped with the time of its flush: an id offboarded and onboarded again within one interval
// had its predecessor's last requests billed to the new customer.
describe('API requests of a tenant id onboarded again within one meter interval', () => {
  it("bills the new customer for its own requests only, the predecessor's stay its", async () => {
    const id = parseTenantId(newTenantId('api-reuse'));
    const counter = createApiRequestCounter(platform.usage, 3_600_000);
    try {
      const predecessor = {
        id,
        incarnation: 'first',
        createdAt: new Date(Date.now() - 86_400_000).toISOString(),
      };
      for (let i = 0; i < 3; i++) counter.count(predecessor);
      await pause(10);
      const successor = { id, incarnation: 'second', createdAt: new Date().toISOString() };
      await pause(10);
      counter.count(successor);
      await counter.flush();
      const today = new Date().toISOString().slice(0, 10);
      const records = (await platform.usage.list({ from: today, to: today })).filter(
        (r) => r.tenantId === id && r.meter === 'api_requests',
      );
      const total = (rs: typeof records) => rs.reduce((sum, r) => sum + r.quantity, 0);
      expect(total(records)).toBe(4);
      expect(total(recordsOfIncarnation(successor, records))).toBe(1);
    } finally {
      await counter.stop();
    }
  });
});
