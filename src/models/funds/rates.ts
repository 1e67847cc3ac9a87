import type { FundsInput } from './schema.ts';

/**
 * Per-period conventions (docs/models.md, "Quarterly conversion"). Rates quoted per year become per
 * period so that P periods compound to the annual figure: a call rate RC of the uncalled commitment
 * becomes 1 − (1 − RC)^(1/P); growth G becomes (1 + G)^(1/P) − 1, as does the hurdle; the
 * distribution rate max(Y, (t/L)^B) is taken at fractional year t/P and converted like RC. Fees are
 * quoted simple, so the per-period fee is rate / P.
 */
export interface PeriodRates {
  periods: number;
  perYear: number;
  /** Annual call rate applying in each period (1 where the rest is called), index t − 1. */
  rcAnnual: number[];
  /** Fund year (1-based) of each period. */
  fundYear: number[];
  /** Per-period call rate 1 − (1 − RC)^(1/P); path-independent, so computed once for all paths. */
  rc: number[];
  /** Annual distribution rate max(Y, (t/P/L)^B) and its per-period form. */
  rdAnnual: number[];
  rd: number[];
}

export function periodRates(input: FundsInput): PeriodRates {
  const P = input.periodsPerYear;
  const N = input.fundLifeYears * P;
  const rates = input.contributionRates;
  const lastCallYear =
    input.contributionYears === undefined
      ? undefined
      : Math.min(input.contributionYears, input.fundLifeYears);
  const rcAnnual: number[] = [];
  const fundYear: number[] = [];
  for (let t = 1; t <= N; t++) {
    const y = Math.ceil(t / P);
    fundYear.push(y);
    const scheduled = typeof rates === 'number' ? rates : (rates[y - 1] ?? rates[rates.length - 1] ?? 0);
    if (lastCallYear === undefined || y < lastCallYear) rcAnnual.push(scheduled);
    else if (y === lastCallYear) rcAnnual.push(t === y * P ? 1 : scheduled);
    else rcAnnual.push(0);
  }
  const rc = rcAnnual.map((a) => 1 - (1 - a) ** (1 / P));
  const rdAnnual = rcAnnual.map((_, i) =>
    Math.max(input.yield, ((i + 1) / P / input.fundLifeYears) ** input.bow),
  );
  const rd = rdAnnual.map((a) => 1 - (1 - Math.min(1, a)) ** (1 / P));
  return { periods: N, perYear: P, rcAnnual, fundYear, rc, rdAnnual, rd };
}

/** An annual fraction of a balance (calls, distributions) as the per-period fraction compounding to it. */
export function perPeriodFraction(annual: number, P: number): number {
  return 1 - (1 - annual) ** (1 / P);
}

export function perPeriodGrowth(annual: number, P: number): number {
  return (1 + annual) ** (1 / P) - 1;
}

export function annualise(perPeriod: number, P: number): number {
  return (1 + perPeriod) ** P - 1;
}
