/** The currency of every cost figure: the cost tables price in USD, statements carry cost in USD cents. */
export const COST_CURRENCY = 'USD';

/** One tenant's money for a month, as a statement (or the months endpoint) carries it. */
export interface MoneyRow {
  /** The statement's currency (ISO 4217). */
  currency: string;
  /** What the tenant owes, in minor units of `currency`. */
  revenue: number;
  /** What the platform paid for the tenant's usage, in cents of USD (`COST_CURRENCY`). */
  cost: number;
}

/** The totals of the tenants billed in one currency. */
export interface CurrencyTotals {
  /** The statements' currency. */
  currency: string;
  /** Tenants with a statement in this currency. */
  tenants: number;
  /** Sum of their totals, minor units of `currency`. */
  revenue: number;
  /** Sum of what they cost the platform, cents of USD whatever `currency` is. */
  cost: number;
  /**
   * `revenue − cost` in cents of USD when `currency` is USD; `null` otherwise: revenue and cost are then in
   * two currencies and no exchange rate is assumed (`marginUnavailable` says so).
   */
  margin: number | null;
  /** Why `margin` is null; absent when it is a number. */
  marginUnavailable?: string;
}

/**
 * Totals per statement currency, sorted by currency code. A tenant's revenue and its cost both count in
 * its statement's currency's row, so within each row `revenue − cost = margin` where margin is a number,
 * and no figure of one currency is ever added to or subtracted from one of another. Pure.
 */
export function totalsByCurrency(rows: readonly MoneyRow[]): CurrencyTotals[] {
  const by = new Map<string, { tenants: number; revenue: number; cost: number }>();
  for (const r of rows) {
    const t = by.get(r.currency) ?? { tenants: 0, revenue: 0, cost: 0 };
    t.tenants += 1;
    t.revenue += r.revenue;
    t.cost += r.cost;
    by.set(r.currency, t);
  }
  return [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([currency, t]) =>
      currency === COST_CURRENCY
        ? { currency, ...t, margin: t.revenue - t.cost }
        : {
            currency,
            ...t,
            margin: null,
            marginUnavailable: `revenue in ${currency}, cost in ${COST_CURRENCY}: no exchange rate is assumed`,
          },
    );
}
