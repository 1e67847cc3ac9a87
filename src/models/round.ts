/**
 * Where a figure sits in a model's summary and what it measures. `'money'` marks an amount in the job's
 * currency, `'fraction'` a rate (0.05 is 5 %), `'multiple'` a ratio shown as 1.5×; an array's unit is its
 * element's. Only money is rounded by the tenant's rule: everything else keeps full precision, so the rule
 * can never turn an 8.16 % IRR into 0.08. `GET /v1/models` returns these, so clients format by data.
 */
export type SummaryUnit = 'money' | 'fraction' | 'multiple';
export type SummaryUnits = SummaryUnit | readonly [SummaryUnits] | { readonly [key: string]: SummaryUnits };

/**
 * Excel `ROUND(x, decimals)`: half away from zero on the decimal value the user sees (`1.015` → 1.02,
 * `-2.5` → -3), not on the binary double (1.015 is stored as 1.01499999999999990230…).
 * Like Excel, the number is first read at 15 significant digits; the scaling is done by shifting the
 * decimal exponent of that text, never by multiplying, so no binary rounding enters between the steps.
 */
export function roundHalfAwayFromZero(x: number, decimals: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const abs = Math.abs(x);
  // Past 2^53 every double is an integer: the rounding step is finer than the number's own precision.
  if (abs * 10 ** decimals >= 2 ** 52) return x;
  const scaled = Math.round(shift(abs.toPrecision(15), decimals));
  const rounded = shift(String(scaled), -decimals);
  return x < 0 && rounded !== 0 ? -rounded : rounded;
}

/** The number `text × 10^by`, parsed once from decimal text (`1.015`, 2 → 101.5 exactly). */
function shift(text: string, by: number): number {
  const [mantissa, exponent = '0'] = text.split('e');
  return Number(`${mantissa}e${Number(exponent) + by}`);
}

/**
 * Rounds the money figures of a summary to `decimals` places (the tenant's `rules.rounding`) with
 * Excel's ROUND; every figure `units` does not mark as money is returned as it is.
 */
export function roundMoney<T>(value: T, units: SummaryUnits, decimals: number | undefined): T {
  if (decimals === undefined) return value;
  const walk = (v: unknown, u: SummaryUnits | undefined): unknown => {
    if (u === undefined) return v;
    if (u === 'money') return typeof v === 'number' ? roundHalfAwayFromZero(v, decimals) : v;
    if (typeof u === 'string') return v;
    if (Array.isArray(v)) return Array.isArray(u) ? v.map((x) => walk(x, u[0])) : v;
    if (v !== null && typeof v === 'object' && !Array.isArray(u)) {
      const fields = u as { readonly [key: string]: SummaryUnits };
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, walk(x, Object.hasOwn(fields, k) ? fields[k] : undefined)]),
      );
    }
    return v;
  };
  return walk(value, units) as T;
}
