import { type BillingMonth, COST_CURRENCY, totalsByCurrency } from '../../../src/client/index.ts';

/** One bar group of the console's billing chart: dollars (not cents). */
export interface ChartMonth {
  month: string;
  revenue: number;
  cost: number;
  margin: number;
}

/**
 * The billing chart's figures: per month, revenue, cost and margin in dollars of the tenants billed in USD
 * (revenue and cost of the same tenants, so revenue − cost = margin; src/core/billing-totals.ts), and the
 * other statement currencies seen (`others`, sorted), which the chart leaves out: no exchange rate is
 * assumed, and their cost alone would make cost and margin disagree. Pure.
 */
export function platformChartData(months: readonly BillingMonth[]): { data: ChartMonth[]; others: string[] } {
  const others = new Set<string>();
  const data = months.map((m) => {
    const rows = totalsByCurrency(m.tenants);
    for (const r of rows) if (r.currency !== COST_CURRENCY) others.add(r.currency);
    const usd = rows.find((r) => r.currency === COST_CURRENCY);
    return {
      month: m.month,
      revenue: (usd?.revenue ?? 0) / 100,
      cost: (usd?.cost ?? 0) / 100,
      margin: (usd?.margin ?? 0) / 100,
    };
  });
  return { data, others: [...others].sort() };
}
