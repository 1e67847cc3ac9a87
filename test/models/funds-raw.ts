// Raw funds inputs, and where the workbook shows the IRRs, for tests that edit a fund's workbook
// (funds-irr-edits.test.ts, libreoffice.test.ts).

/** A management fee of `rate` a year on `basis`, as a raw input fragment. */
export const fee = (rate: number, basis = 'committed') => ({ managementFee: { rate, basis } });

/** No bow, no yield (NAV goes out at the end), no carry. */
const plain = { bow: 0, yield: 0, carry: { rate: 0, hurdleRate: 0, catchUp: 1, waterfall: 'european' } };

/**
 * A plain fund (see `plain`) of life `L` years, contribution rate `calls`, `P` periods a year and growth `g`
 * a year, with `more` laid over it.
 */
export const fund = (L: number, calls: number, P: number, g: number, more: object) => ({
  ...plain,
  fundLifeYears: L,
  contributionRates: calls,
  periodsPerYear: P,
  growthRate: g,
  ...more,
});

/**
 * The Summary's IRR rows, each with the Cash flows column whose flows it is the IRR of and the API's metric
 * that must match it.
 */
export const SUMMARY_IRRS = [
  ['Net IRR (annual)', 'LP net cash flow', 'netIrr'],
  ['Gross IRR (annual)', 'Gross net flow', 'grossIrr'],
] as const;
