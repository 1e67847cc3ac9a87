import type { FieldProblem } from '../../core/errors.ts';
import { investorIrr, irrRoots } from '../irr-roots.ts';
import { implausibleRate, WARN_ABOVE } from '../plausibility.ts';
import type { ModelWarning } from '../types.ts';
import { type FundPath, projectFund } from './project.ts';
import { annualise, type PeriodRates, periodRates, perPeriodGrowth } from './rates.ts';
import type { FundsInput } from './schema.ts';
import { runFundsSimulation, type SimulationSummary } from './simulation.ts';

export interface FundMetrics {
  paidIn: number;
  distributions: number;
  nav: number;
  /**
   * Multiples of LP paid-in (ILPA; CFA Institute, GIPS: DPI = cumulative distributions / paid-in capital, RVPI =
   * NAV / paid-in, TVPI = their sum). null when paid-in is 0: a multiple of nothing is undefined, and 0 would
   * read as a fund that lost everything. `checkFunds` refuses inputs that call no capital, so only a run
   * outside the API (or a workbook edit) gets here.
   */
  dpi: number | null;
  rvpi: number | null;
  tvpi: number | null;
  /**
   * Annualised: (1 + per-period IRR)^P − 1, the root consistent with TVPI when the flows have several
   * (see irr-roots.ts); NaN when they have none on that side.
   */
  netIrr: number;
  grossIrr: number;
  totalFees: number;
  totalCarry: number;
  peakCapitalAtRisk: number;
  /** First period (1-based) after the trough at which cumulative LP net cash flow is back to ≥ 0; null if never. */
  breakEvenPeriod: number | null;
  breakEvenYear: number | null;
}

export interface FundsResult {
  /** ISO 4217 code of every money figure: the job's currency. */
  currency: string;
  rates: PeriodRates;
  /** Calendar year of each period. */
  year: number[];
  path: FundPath;
  metrics: FundMetrics;
  simulation: SimulationSummary | null;
  /** Several IRRs, or none, for the LP's or the fund's flows. */
  warnings: ModelWarning[];
}

export function checkFunds(input: FundsInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const fee = input.managementFee;
  if ((fee.stepDownRate === undefined) !== (fee.stepDownAfterYear === undefined)) {
    problems.push({
      path:
        fee.stepDownRate === undefined ? '/managementFee/stepDownRate' : '/managementFee/stepDownAfterYear',
      message: 'is required when a fee step-down is set (give both stepDownAfterYear and stepDownRate)',
    });
  }
  if (Array.isArray(input.contributionRates) && input.contributionRates.length > input.fundLifeYears) {
    problems.push({
      path: '/contributionRates',
      message: `has ${input.contributionRates.length} rates but the fund lives ${input.fundLifeYears} years`,
      rule: 'contributionRates.length <= fundLifeYears',
    });
  }
  const rates = input.contributionRates;
  if (input.contributionYears === undefined) {
    // Nothing is ever invested: paid-in is at most fees, so TVPI, DPI and RVPI (ILPA: value over paid-in)
    // are 0 or undefined (0 / 0), and there is no IRR; a fund that calls nothing is a mistake in the input. Judged on the
    // calls the projection makes, not on the rates typed: a rate below ~1.1e-16 (~2.2e-16 quarterly) leaves the
    // per-period call rate 0 in floating point (Excel's too), and a commitment of a few 1e-324 rounds every call
    // to 0. Either gave paid-in 0 and TVPI 0.00×, a fund that "lost everything".
    if ((typeof rates === 'number' ? [rates] : rates).every((r) => r === 0)) {
      problems.push({
        path: '/contributionRates',
        message:
          'calls no capital: every rate is 0 and contributionYears is not set, so nothing is ever invested (give a rate above 0, or contributionYears to call the commitment in that year)',
        rule: 'some contributionRates > 0 or contributionYears set',
      });
    } else if (periodRates(input).rc.every((r) => r === 0)) {
      problems.push({
        path: '/contributionRates',
        message:
          'calls no capital: every rate is too small to call any of the commitment (1 − rate, or its per-period root, is 1 in floating-point arithmetic, as in Excel) and contributionYears is not set, so nothing is ever invested and paid-in multiples (TVPI, DPI, RVPI) are undefined (give a larger rate, or contributionYears)',
        rule: 'some contribution > 0',
      });
    } else if (calledCapital(input) === 0) {
      problems.push({
        path: '/commitment',
        message: `is too small for any call to be a number above 0 (every call rounds to 0 at ${input.commitment}), so nothing is ever invested and paid-in multiples (TVPI, DPI, RVPI) are undefined: give a larger commitment`,
        rule: 'some contribution > 0',
      });
    }
  }
  if (input.contributionYears !== undefined && input.contributionYears > input.fundLifeYears) {
    problems.push({
      path: '/contributionYears',
      message: `must be at most fundLifeYears (${input.fundLifeYears})`,
      rule: 'contributionYears <= fundLifeYears',
    });
  }
  return problems;
}

/** Capital called over the fund's life: `projectFund`'s calls, which do not depend on growth. */
function calledCapital(input: FundsInput): number {
  let paidIn = 0;
  for (const rc of periodRates(input).rc) paidIn += rc * (input.commitment - paidIn);
  return paidIn;
}

/** Rates a user likely typed as percent: portfolio growth above 100 % a year. */
export function adviseFunds(input: FundsInput): ModelWarning[] {
  return implausibleRate('/growthRate', 'The growth rate', input.growthRate, WARN_ABOVE.growth);
}

export function runFunds(input: FundsInput, simulation?: SimulationSummary | null): FundsResult {
  const rates = periodRates(input);
  const gP = perPeriodGrowth(input.growthRate, rates.perYear);
  const path = projectFund(input, rates, new Float64Array(rates.periods).fill(gP));
  const year = rates.fundYear.map((y) => input.vintageYear + y - 1);
  const metrics = fundMetrics(path, rates.perYear, input.vintageYear);
  return {
    currency: input.currency,
    rates,
    year,
    path,
    metrics,
    simulation:
      simulation !== undefined ? simulation : input.simulations > 0 ? runFundsSimulation(input) : null,
    warnings: [
      ...adviseFunds(input),
      ...irrWarnings('netIrr', 'net IRR to LPs', Array.from(path.netCashFlow), metrics.netIrr, rates.perYear),
      ...irrWarnings('grossIrr', 'gross IRR', grossFlows(path), metrics.grossIrr, rates.perYear),
      ...termsWarnings(input, metrics),
    ],
  };
}

/** Period labels: the year for annual periods, `2025 Q1` for quarterly ones. */
export function periodLabels(res: Pick<FundsResult, 'rates' | 'year'>): (number | string)[] {
  const P = res.rates.perYear;
  return res.year.map((y, i) => (P === 1 ? y : `${y} Q${(i % P) + 1}`));
}

export function fundMetrics(path: FundPath, P: number, vintageYear: number): FundMetrics {
  const N = path.nav.length;
  const last = N - 1;
  const paidIn = path.lpPaidIn[last] ?? 0;
  const distributions = path.cumLpDistribution[last] ?? 0;
  const nav = path.lpNav[last] ?? 0;
  let trough = 0;
  let troughAt = -1;
  for (let i = 0; i < N; i++) {
    if (path.cumNetCashFlow[i]! < trough) {
      trough = path.cumNetCashFlow[i]!;
      troughAt = i;
    }
  }
  let breakEven: number | null = null;
  for (let i = troughAt + 1; troughAt >= 0 && i < N; i++) {
    if (path.cumNetCashFlow[i]! >= 0) {
      breakEven = i + 1;
      break;
    }
  }
  return {
    paidIn,
    distributions,
    nav,
    dpi: paidIn > 0 ? distributions / paidIn : null,
    rvpi: paidIn > 0 ? nav / paidIn : null,
    tvpi: paidIn > 0 ? (distributions + nav) / paidIn : null,
    netIrr: annualise(investorIrr(Array.from(path.netCashFlow)), P),
    grossIrr: annualise(investorIrr(grossFlows(path)), P),
    totalFees: sum(path.fee),
    totalCarry: path.cumCarry[last] ?? 0,
    peakCapitalAtRisk: -trough,
    breakEvenPeriod: breakEven,
    breakEvenYear: breakEven === null ? null : vintageYear + Math.ceil(breakEven / P) - 1,
  };
}

/** The fund's own flows before fees and carry: distributions less contributions. */
export function grossFlows(path: FundPath): number[] {
  return Array.from(path.distribution, (d, i) => d - path.contribution[i]!);
}

/**
 * For the carry warning (and its workbook line), relative to paid-in: the shortfall of LP value below paid-in
 * that counts as a loss, and the carry that counts as paid.
 */
export const CARRY_LOSS_SLACK = 1e-9;

/**
 * Fees and carry no LP would sign for, though each input is in range. Fees: an LPA usually calls them against the
 * commitment (ILPA's capital call template counts them in the call; here they are called on top of it), so fees
 * above the commitment (10 % a year on it over 30 years is 3×; on NAV, growth does it) mean the fee rate, basis
 * or life is likely wrong. Carry: a whole-fund waterfall pays it only out of profit after fees (the european one
 * here ends with carry × that profit), so carry paid while the LPs get back less than they paid in is carry the
 * fund did not earn (deal by deal, or paid before later fees), which a clawback (ILPA Principles) would return.
 */
export function termsWarnings(input: FundsInput, m: FundMetrics): ModelWarning[] {
  const warnings: ModelWarning[] = [];
  if (m.totalFees > input.commitment) {
    warnings.push({
      code: 'fees_exceed_commitment',
      figure: 'totalFees',
      message: `Management fees total ${m.totalFees.toPrecision(6)}, ${(m.totalFees / input.commitment).toFixed(2)} × the commitment (${input.commitment.toPrecision(6)}): LPs would pay more in fees than they committed. Check the fee rate, its basis and the fund life.`,
    });
  }
  const lpBack = m.distributions + m.nav;
  // The slack, both ways: a european fund whose profit is a rounding error of its paid-in pays carry on it
  // exactly, and a waterfall at growth 0 leaves carry of floating-point residue (~1e-10 on 1e8), no carry paid.
  if (m.totalCarry > m.paidIn * CARRY_LOSS_SLACK && lpBack < m.paidIn * (1 - CARRY_LOSS_SLACK)) {
    warnings.push({
      code: 'carry_above_profit',
      figure: 'totalCarry',
      message: `Carried interest of ${m.totalCarry.toPrecision(6)} is paid while LPs get back ${lpBack.toPrecision(6)} of the ${m.paidIn.toPrecision(6)} they paid in (fees included): carry the whole fund did not earn (deal by deal, or before later fees), which a clawback would return.`,
    });
  }
  return warnings;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

/** A warning when the flows have several IRRs (naming the one reported) or none. */
function irrWarnings(
  field: 'netIrr' | 'grossIrr',
  label: string,
  flows: number[],
  reported: number,
  P: number,
): ModelWarning[] {
  const roots = irrRoots(flows).map((r) => annualise(r, P));
  if (roots.length > 1) {
    return [
      {
        code: 'irr_multiple_roots',
        message: `The ${label} flows have ${roots.length} IRRs (${roots.map(pct).join(', ')}); ${
          Number.isFinite(reported)
            ? `${pct(reported)} is reported, the one consistent with the total gain (TVPI)`
            : 'none is consistent with the total gain (TVPI), so none is reported'
        }.`,
        figure: field,
      },
    ];
  }
  if (!Number.isFinite(reported)) {
    return [
      {
        code: 'irr_none',
        message: roots.length
          ? `The ${label} flows have one IRR, ${pct(roots[0]!)}, on the wrong side of 0 for their total gain (TVPI), so none is reported.`
          : `The ${label} flows have no IRR: their NPV has the same sign at every discount rate.`,
        figure: field,
      },
    ];
  }
  return [];
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}
