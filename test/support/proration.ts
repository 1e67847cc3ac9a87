/**
 * The base-fee proration rule of docs/billing.md written out again for tests, by hand, without the code
 * under test: the fee accrued by the end of day `d` of a month of `n` days is `fee × d ÷ n` rounded to a
 * whole minor unit (half-even for USD, EUR, GBP; half-up for JPY); days `first`..`last` bill the accrual at
 * the end of `last` minus that at the end of `first − 1`. Plain numbers: fees here stay far below 2^53 ÷ 31.
 */
export function accrued(
  fee: number,
  day: number,
  monthDays: number,
  rounding: 'half-even' | 'half-up',
): number {
  const q = Math.floor((fee * day) / monthDays);
  const twice = 2 * (fee * day - q * monthDays);
  if (twice > monthDays) return q + 1;
  if (twice === monthDays) return rounding === 'half-up' || q % 2 === 1 ? q + 1 : q;
  return q;
}

/** The base fee of days `first`..`last` (1-based, inclusive) of a month of `monthDays` days. */
export function prorated(
  fee: number,
  first: number,
  last: number,
  monthDays: number,
  rounding: 'half-even' | 'half-up' = 'half-even',
): number {
  return accrued(fee, last, monthDays, rounding) - accrued(fee, first - 1, monthDays, rounding);
}

/** Today's day of the month (UTC) and the number of days of this month. */
export function today(now = new Date()): { day: number; monthDays: number } {
  return {
    day: now.getUTCDate(),
    monthDays: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate(),
  };
}

/** The base fee of a tenant created today and present to the end of the month. */
export const fromToday = (fee: number, rounding: 'half-even' | 'half-up' = 'half-even'): number => {
  const { day, monthDays } = today();
  return prorated(fee, day, monthDays, monthDays, rounding);
};
