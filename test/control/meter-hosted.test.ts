import { describe, expect, it } from 'vitest';
import { usageOfUnreportedJob } from '../../src/control/meter.ts';
import { emptyConfig } from '../../src/core/tenant.ts';
import { makeJob, makeTenant, randomTenantId } from '../contract/fixtures.ts';

// A finished job in a dedicated tenant's own store whose finish its host never heard of (the server stopped
// between the process's commit and its report) is metered by the pass from the record the process wrote:
// billed at the host's rule for attempts it did not see, never as the record says.
describe('the metering pass on a store a function process writes', () => {
  const tenantId = randomTenantId('mh');
  const tenant = makeTenant(tenantId, {
    placement: 'dedicated',
    config: { ...emptyConfig(), function: { memoryMb: 1024, timeoutSec: 2 } },
  });
  const now = Date.parse('2026-12-03T12:00:00Z');
  const forged = makeJob(tenantId, {
    status: 'succeeded',
    attempts: 2,
    startedAt: '2026-01-01T00:00:00Z',
    // A day of a month long closed: the record would be on no statement.
    finishedAt: '2026-01-01T00:00:01Z',
    computeMs: 3_600_000,
    computeMbMs: 64,
    memoryMb: 64,
    // An id of a finish before: the run would be billed under it, taken already.
    billedBefore: { attempts: 1, computeMbMs: 1 },
  });

  it("bills the record's run time at most the time limit per attempt, at the tenant's memory, on the pass's day", () => {
    const records = usageOfUnreportedJob(tenant, forged, now);
    const compute = records.find((r) => r.meter === 'compute_mb_ms');
    expect(compute).toMatchObject({
      id: `job/${tenantId}/${forged.id}/compute_mb_ms`,
      quantity: 2 * 2_000 * 1024,
      day: '2026-12-03',
    });
    expect(records.find((r) => r.meter === 'jobs')).toMatchObject({ quantity: 1, day: '2026-12-03' });
  });

  it('a record that says it ran less is billed as it says, at the memory setting', () => {
    const small = { ...forged, computeMs: 5 };
    const compute = usageOfUnreportedJob(tenant, small, now).find((r) => r.meter === 'compute_mb_ms');
    expect(compute?.quantity).toBe(5 * 1024);
  });
});
