import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createApiRequestCounter } from '../../src/control/meter.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { newTenantId } from '../support/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-api-midnight-'));
const platform = openEmbeddedPlatform(dir);
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

// The API meter writes one record per tenant per flush, stamped with the time of the batch's last request.
// A batch that spanned a UTC midnight put every request of it on the new day: those of the last second of a
// month were billed in the next month (docs/billing.md: billing days and months are UTC).
describe('API requests counted across a UTC midnight', () => {
  it('bills each request on the UTC day (and month) it was answered', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const id = parseTenantId(newTenantId('api-midnight'));
    const tenant = { id, incarnation: 'one', createdAt: '2026-11-01T00:00:00.000Z' };
    const counter = createApiRequestCounter(platform.usage, 3_600_000);
    try {
      vi.setSystemTime(new Date('2026-11-30T23:59:59.400Z'));
      for (let i = 0; i < 5; i++) counter.count(tenant);
      vi.setSystemTime(new Date('2026-12-01T00:00:00.200Z'));
      for (let i = 0; i < 2; i++) counter.count(tenant);
      await counter.flush();
      const sum = async (from: string, to: string) =>
        (await platform.usage.forTenant(id).list({ from, to }))
          .filter((r) => r.meter === 'api_requests')
          .reduce((n, r) => n + r.quantity, 0);
      // Five answered on 30 November, two on 1 December.
      expect(await sum('2026-11-01', '2026-11-30')).toBe(5);
      expect(await sum('2026-12-01', '2026-12-31')).toBe(2);
    } finally {
      await counter.stop();
    }
  });
});
