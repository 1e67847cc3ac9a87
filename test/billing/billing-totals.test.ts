import { describe, expect, it } from 'vitest';
import { totalsByCurrency } from '../../src/core/billing-totals.ts';
import { platformChartData } from '../../web/src/console/billing-chart-data.ts';

// Figures by hand. Costs are cents of USD always (docs/billing.md, "Statements": the statement carries the
// platform's cost in cents of USD; the margin is total − cost for USD plans, null otherwise). A tenant's
// revenue and cost count in its statement currency's row; no figure of one currency meets another's.
const tenants = [
  { tenantId: 'a', currency: 'USD', revenue: 50_000, cost: 1_200, margin: 48_800 },
  { tenantId: 'b', currency: 'EUR', revenue: 40_000, cost: 700, margin: null },
  { tenantId: 'c', currency: 'USD', revenue: 9_000, cost: 300, margin: 8_700 },
  { tenantId: 'd', currency: 'JPY', revenue: 1_200_000, cost: 50, margin: null },
];

describe('totals per statement currency', () => {
  it('sums revenue and cost per currency; a margin only where revenue is in USD', () => {
    expect(totalsByCurrency(tenants)).toEqual([
      {
        currency: 'EUR',
        tenants: 1,
        revenue: 40_000,
        cost: 700,
        margin: null,
        marginUnavailable: 'revenue in EUR, cost in USD: no exchange rate is assumed',
      },
      {
        currency: 'JPY',
        tenants: 1,
        revenue: 1_200_000,
        cost: 50,
        margin: null,
        marginUnavailable: 'revenue in JPY, cost in USD: no exchange rate is assumed',
      },
      // 50,000 + 9,000 = 59,000; 1,200 + 300 = 1,500; 59,000 − 1,500 = 57,500 = 48,800 + 8,700.
      { currency: 'USD', tenants: 2, revenue: 59_000, cost: 1_500, margin: 57_500 },
    ]);
    expect(totalsByCurrency([])).toEqual([]);
  });

  it("the console's chart shows the USD tenants' revenue, cost and margin, and names the others", () => {
    // The chart added every tenant's cost to the USD tenants' revenue and margin: $22.50 of cost against
    // $590.00 of revenue and a margin of $575.00 (which needs a cost of $15.00).
    expect(platformChartData([{ month: '2026-11', tenants }])).toEqual({
      data: [{ month: '2026-11', revenue: 590, cost: 15, margin: 575 }],
      others: ['EUR', 'JPY'],
    });
  });
});
