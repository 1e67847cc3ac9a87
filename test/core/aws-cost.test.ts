import { describe, expect, it } from 'vitest';
import { dedicatedFixedUsd, monthlyTenantCost, perJobUsd, sharedFixedUsd } from '../../src/core/aws-cost.ts';

// The cost table of docs/aws.md ("Monthly cost per tenant") is this model's output: the numbers here are
// the table's, item by item from list prices.
describe('monthly cost per tenant on AWS', () => {
  it('charges a rotating KMS key $1 a month more per rotation, for the first two rotations only', () => {
    const year = (kmsRotations: number) => dedicatedFixedUsd({ kmsRotations });
    expect(year(1) - year(0)).toBeCloseTo(1, 9);
    expect(year(2) - year(1)).toBeCloseTo(1, 9);
    expect(year(5)).toBeCloseTo(year(2), 9);
  });

  it('counts X-Ray traces ($5 per million, 5 a job) and, where a trail logs them, CloudTrail data events', () => {
    expect(perJobUsd({ xray: false }) * 100_000).toBeCloseTo(6.73, 2);
    expect(perJobUsd() * 100_000).toBeCloseTo(9.23, 2);
    expect(perJobUsd({ cloudTrailDataEvents: true }) * 100_000).toBeCloseTo(11.03, 2);
  });

  it('makes the per-tenant dashboard the difference between $8.12 and $5.12 of fixed cost', () => {
    expect(dedicatedFixedUsd()).toBeCloseTo(8.12, 2);
    expect(dedicatedFixedUsd({ tenantDashboard: false })).toBeCloseTo(5.12, 2);
    expect(sharedFixedUsd()).toBeCloseTo(0.95, 2);
  });

  it('gives the rows of the table', () => {
    const row = (jobs: number) => {
      const on = monthlyTenantCost(jobs);
      const off = monthlyTenantCost(jobs, { tenantDashboard: false });
      return [on.usage, on.shared, on.dedicated, off.dedicated].map((usd) => usd.toFixed(2));
    };
    expect(row(1_000)).toEqual(['0.09', '1.04', '8.21', '5.21']);
    expect(row(10_000)).toEqual(['0.92', '1.87', '9.04', '6.04']);
    expect(row(100_000)).toEqual(['9.23', '10.18', '17.35', '14.35']);
  });
});
