import type { FieldProblem } from '../../core/errors.ts';
import { edate, excelSerial, FIRST_PORTABLE_DATE, npv } from '../finmath.ts';
import { implausibleRate, WARN_ABOVE } from '../plausibility.ts';
import type { ModelWarning } from '../types.ts';
import { type LoanSchedule, loanSchedule } from './loan.ts';
import type { FinanceInput, LoanInput } from './schema.ts';
import { gordonDefined, MIN_TERMINAL_SPREAD, type Sensitivity, sensitivity } from './sensitivity.ts';

export { MIN_TERMINAL_SPREAD };

export interface FinanceYear {
  year: number;
  /** 1 for the first projected year. */
  t: number;
  growth: number;
  revenue: number;
  ebitda: number;
  depreciation: number;
  ebit: number;
  tax: number;
  nopat: number;
  capex: number;
  nwc: number;
  changeInNwc: number;
  freeCashFlow: number;
  discountFactor: number;
  presentValue: number;
}

export interface FinanceResult {
  /** ISO 4217 code of every money figure: the job's currency. */
  currency: string;
  baseYear: { year: number; revenue: number; nwc: number };
  years: FinanceYear[];
  /** 0.5 under mid-year discounting, else 0: year t is discounted by t − offset years. */
  timingOffset: number;
  pvOfCashFlows: number;
  terminalMethod: FinanceInput['terminalMethod'];
  /**
   * Gordon: FCF_n (1 + g) / (r − g), as at the end of year n − timingOffset (its flows arrive as the explicit
   * ones do); exit multiple: EBITDA_n × multiple, as at the end of year n. See `terminalYears`.
   */
  terminalValue: number;
  /**
   * Cross-checks of the terminal value, both methods brought to one date: the EV/EBITDA it implies at the end
   * of year n, and the perpetual FCF growth it implies.
   */
  impliedExitMultiple: number | null;
  impliedTerminalGrowth: number | null;
  pvOfTerminalValue: number;
  enterpriseValue: number;
  netDebt: number;
  equityValue: number;
  sharesOutstanding: number | null;
  valuePerShare: number | null;
  /** Enterprise value around the inputs: WACC × terminal growth, and WACC × exit multiple. */
  sensitivity: Sensitivity;
  loan: LoanSchedule | null;
  /** Figures that are right but may mislead: see `valuationWarnings`. */
  warnings: ModelWarning[];
}

/**
 * The last date Excel has (serial 2958465; "Excel specifications and limits": latest date allowed for
 * calculation). A payment after it is ##### as a cached date and #NUM! from DATE/EOMONTH on the Loan sheet.
 */
const LAST_EXCEL_DATE = '9999-12-31';

/** Above this share of enterprise value the terminal value decides the valuation: worth a warning. */
export const TERMINAL_SHARE_WARNING = 0.85;

export function growthByYear(input: Pick<FinanceInput, 'revenueGrowth' | 'years'>): number[] {
  const g = input.revenueGrowth;
  return Array.from({ length: input.years }, (_, i) => (typeof g === 'number' ? g : (g[i] ?? 0)));
}

/** What JSON Schema cannot say about a finance input. */
export function checkFinance(input: FinanceInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  // Only the Gordon value divides by the spread; an exit-multiple valuation does not use terminal growth.
  if (input.terminalMethod !== 'exitMultiple' && !gordonDefined(input.discountRate, input.terminalGrowth)) {
    problems.push({
      path: '/terminalGrowth',
      message: `must be below discountRate (${input.discountRate}) by at least ${MIN_TERMINAL_SPREAD * 100} percentage points: the Gordon terminal value divides by discountRate − terminalGrowth, and a smaller spread makes it meaninglessly large`,
      rule: `discountRate - terminalGrowth >= ${MIN_TERMINAL_SPREAD}`,
    });
  }
  if (Array.isArray(input.revenueGrowth) && input.revenueGrowth.length !== input.years) {
    problems.push({
      path: '/revenueGrowth',
      message: `must have one rate per projected year: ${input.years} expected, ${input.revenueGrowth.length} given`,
      rule: 'revenueGrowth.length = years',
    });
  }
  if (input.loan && Number.isNaN(Date.parse(input.loan.startDate))) {
    problems.push({ path: '/loan/startDate', message: 'must be a valid date (YYYY-MM-DD)' });
  } else if (input.loan && input.loan.startDate < FIRST_PORTABLE_DATE) {
    problems.push({
      path: '/loan/startDate',
      message: `must be on or after ${FIRST_PORTABLE_DATE}: spreadsheets have no dates before 1900, and before March 1900 Excel counts a 29 February 1900 that never was, so Excel and LibreOffice or Google Sheets would show other payment dates than the model`,
      rule: `loan.startDate >= ${FIRST_PORTABLE_DATE}`,
    });
  } else if (input.loan && lastPaymentSerial(input.loan) > excelSerial(LAST_EXCEL_DATE)) {
    problems.push({
      path: '/loan/startDate',
      message: `must leave the last of the ${input.loan.termMonths} monthly payments on or before ${LAST_EXCEL_DATE}, the last date spreadsheets have: start earlier or shorten termMonths`,
      rule: `EDATE(loan.startDate, loan.termMonths) <= ${LAST_EXCEL_DATE}`,
    });
  }
  return problems;
}

function lastPaymentSerial(loan: LoanInput): number {
  return edate(excelSerial(loan.startDate), loan.termMonths);
}

/** Rates a user likely typed as percent: revenue growth above 100 %, a discount or loan rate above 50 %. */
export function adviseFinance(input: FinanceInput): ModelWarning[] {
  const g = input.revenueGrowth;
  return [
    ...(typeof g === 'number'
      ? implausibleRate('/revenueGrowth', 'Revenue growth', g, WARN_ABOVE.growth)
      : g.flatMap((x, i) =>
          implausibleRate(`/revenueGrowth/${i}`, `Revenue growth in year ${i + 1}`, x, WARN_ABOVE.growth),
        )),
    ...implausibleRate('/discountRate', 'The discount rate', input.discountRate, WARN_ABOVE.rate),
    ...(input.loan
      ? implausibleRate('/loan/annualRate', 'The loan rate', input.loan.annualRate, WARN_ABOVE.rate)
      : []),
  ];
}

/**
 * The projection. Each line is computed with the same operations, in the same order, as the
 * formula the workbook writes for it, so Excel recalculates to these exact numbers.
 */
export function runFinance(input: FinanceInput): FinanceResult {
  const r = input.discountRate;
  const offset = input.discounting === 'mid-year' ? 0.5 : 0;
  const growth = growthByYear(input);
  const baseNwc = input.revenue * input.nwcPctRevenue;
  const years: FinanceYear[] = [];
  let prevRevenue = input.revenue;
  let prevNwc = baseNwc;
  for (let i = 0; i < input.years; i++) {
    const t = i + 1;
    const g = growth[i]!;
    const revenue = prevRevenue * (1 + g);
    const ebitda = revenue * input.ebitdaMargin;
    const depreciation = revenue * input.depreciationPctRevenue;
    const ebit = ebitda - depreciation;
    const tax = Math.max(0, ebit) * input.taxRate;
    const nopat = ebit - tax;
    const capex = revenue * input.capexPctRevenue;
    const nwc = revenue * input.nwcPctRevenue;
    const changeInNwc = nwc - prevNwc;
    const freeCashFlow = nopat + depreciation - capex - changeInNwc;
    const discountFactor = 1 / (1 + r) ** (t - offset);
    years.push({
      year: input.startYear + i,
      t,
      growth: g,
      revenue,
      ebitda,
      depreciation,
      ebit,
      tax,
      nopat,
      capex,
      nwc,
      changeInNwc,
      freeCashFlow,
      discountFactor,
      presentValue: freeCashFlow * discountFactor,
    });
    prevRevenue = revenue;
    prevNwc = nwc;
  }
  const fcf = years.map((y) => y.freeCashFlow);
  // NPV discounts year t by t years; mid-year pulls every flow half a year closer.
  const pvOfCashFlows = npv(r, fcf) * (1 + r) ** offset;
  const lastFcf = fcf[fcf.length - 1] ?? 0;
  const lastEbitda = years[years.length - 1]?.ebitda ?? 0;
  const exit = input.terminalMethod === 'exitMultiple';
  // Exit multiple: the multiple of EBITDA at the end of the last projected year (Rosenbaum & Pearl,
  // Investment Banking, ch. 3: terminal value = terminal-year EBITDA × exit multiple).
  const terminalValue = exit
    ? lastEbitda * input.exitMultiple
    : (lastFcf * (1 + input.terminalGrowth)) / (r - input.terminalGrowth);
  const tvYears = terminalYears(input.years, offset, input.terminalMethod);
  const pvOfTerminalValue = terminalValue / (1 + r) ** tvYears;
  // The cross-checks compare the two methods at one date: an exit value is as at n, a Gordon value as at n − o.
  const shift = (1 + r) ** offset;
  const tvAtEnd = exit ? terminalValue : terminalValue * shift;
  const gordonEquivalent = exit ? terminalValue / shift : terminalValue;
  const impliedExitMultiple = multipleDefined(lastEbitda) ? tvAtEnd / lastEbitda : null;
  // Solves TV = FCF_n (1 + g) / (r − g) for g (Rosenbaum & Pearl's mid-year form: TV / (1 + r)^0.5 for TV).
  const impliedTerminalGrowth = growthDefined(lastFcf, gordonEquivalent + lastFcf)
    ? (gordonEquivalent * r - lastFcf) / (gordonEquivalent + lastFcf)
    : null;
  const enterpriseValue = pvOfCashFlows + pvOfTerminalValue;
  const netDebt = input.netDebt ?? 0;
  const equityValue = enterpriseValue - netDebt;
  const valuePerShare = input.sharesOutstanding ? equityValue / input.sharesOutstanding : null;
  return {
    currency: input.currency,
    baseYear: { year: input.startYear - 1, revenue: input.revenue, nwc: baseNwc },
    years,
    timingOffset: offset,
    pvOfCashFlows,
    terminalMethod: input.terminalMethod,
    terminalValue,
    impliedExitMultiple,
    impliedTerminalGrowth,
    pvOfTerminalValue,
    enterpriseValue,
    netDebt,
    equityValue,
    sharesOutstanding: input.sharesOutstanding ?? null,
    valuePerShare,
    sensitivity: sensitivity(input, fcf, lastEbitda, offset),
    loan: input.loan ? loanSchedule(input.loan) : null,
    warnings: [
      ...adviseFinance(input),
      ...valuationWarnings(
        terminalValue,
        pvOfTerminalValue,
        enterpriseValue,
        input.terminalMethod,
        equityValue,
      ),
      ...crossCheckWarnings(impliedExitMultiple, impliedTerminalGrowth, lastEbitda, lastFcf),
    ],
  };
}

/**
 * Years the terminal value is discounted. An exit multiple sells the business at the end of year n: n
 * under both conventions. The Gordon value FCF_n (1 + g) / (r − g) values flows one year apart from the
 * first one after year n; under mid-year discounting they arrive mid-year (n + 0.5, n + 1.5, …), so it is
 * a value as at n − 0.5 and is discounted n − 0.5 years, like the explicit flows (Rosenbaum & Pearl,
 * Investment Banking, ch. 3; Duff & Phelps, "Terminal Value: A Perpetual Issue in Valuation": N − 0.5).
 */
export function terminalYears(years: number, offset: number, method: FinanceInput['terminalMethod']): number {
  return years - (method === 'exitMultiple' ? 0 : offset);
}

/**
 * Whether an EV/EBITDA multiple means anything: only over a positive EBITDA. Over a negative one the ratio
 * has the wrong sign for what it measures (a positive value over a loss read as −242×), which practitioners
 * show as "NM", not meaningful (Rosenbaum & Pearl, Investment Banking, ch. 1: multiples of negative
 * earnings are not meaningful); over 0 it is undefined.
 */
export function multipleDefined(ebitda: number): boolean {
  return ebitda > 0;
}

/**
 * Whether `g = (TV·r − FCF) / (TV + FCF)` solves the Gordon formula `TV = FCF (1 + g) / (r − g)` inside its
 * domain `g < r` (Gordon, "The Investment, Financing, and Valuation of the Corporation", 1962; Brealey, Myers &
 * Allen, Principles of Corporate Finance, ch. 4: the perpetuity-with-growth formula holds only for g < r).
 * For r > −1, g < r ⟺ FCF and TV + FCF have the same sign: a positive value of negative flows (or the
 * reverse) needs g > r, where the formula is no value at all, and FCF = 0 gives g = r. Signs, not the
 * product, so tiny figures cannot underflow to a wrong answer; the workbook's formula is the same test.
 */
export function growthDefined(fcf: number, tvPlusFcf: number): boolean {
  return (fcf > 0 && tvPlusFcf > 0) || (fcf < 0 && tvPlusFcf < 0);
}

/** A cross-check that has no value is null in the JSON: say why rather than leave a bare null. */
function crossCheckWarnings(
  multiple: number | null,
  growth: number | null,
  lastEbitda: number,
  lastFcf: number,
): ModelWarning[] {
  const warnings: ModelWarning[] = [];
  if (multiple === null) {
    warnings.push({
      code: 'cross_check_undefined',
      figure: 'impliedExitMultiple',
      message:
        lastEbitda === 0
          ? 'The last projected EBITDA is 0, so the terminal value implies no EV/EBITDA multiple (null).'
          : `The last projected EBITDA is negative (${lastEbitda.toPrecision(6)}), so an EV/EBITDA multiple of the terminal value is not meaningful (null).`,
    });
  }
  if (growth === null) {
    warnings.push({
      code: 'cross_check_undefined',
      figure: 'impliedTerminalGrowth',
      message:
        lastFcf === 0
          ? 'The last free cash flow is 0, so no perpetual growth below the discount rate gives the terminal value by the Gordon formula (null).'
          : `The terminal value and the last free cash flow (${lastFcf.toPrecision(6)}) are of signs no perpetual growth below the discount rate reconciles by the Gordon formula (it would need growth at or above the discount rate, where the formula has no value): null.`,
    });
  }
  return warnings;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Terminal value checks, each also a formula on the workbook's Summary (`financeChecks`). */
export function valuationWarnings(
  tv: number,
  pvTv: number,
  ev: number,
  method: FinanceInput['terminalMethod'] = 'gordon',
  equity = ev,
): ModelWarning[] {
  const drivers =
    method === 'exitMultiple' ? 'exitMultiple and discountRate' : 'terminalGrowth and discountRate';
  const warnings: ModelWarning[] = [];
  // pvTv > share × ev rather than a division: the same comparison the workbook's check formula makes.
  if (ev > 0 && pvTv > TERMINAL_SHARE_WARNING * ev) {
    warnings.push({
      code: 'terminal_value_share_high',
      figure: 'pvOfTerminalValue',
      message: `The terminal value is ${pct(pvTv / ev)} of enterprise value (above ${pct(TERMINAL_SHARE_WARNING)}): the valuation rests on ${drivers} more than on the projected years.`,
    });
  }
  if (tv < 0) {
    warnings.push({
      code: 'terminal_cash_flow_negative',
      figure: 'terminalValue',
      message:
        method === 'exitMultiple'
          ? `The last projected EBITDA is negative, so the exit-multiple terminal value (${tv.toPrecision(6)}) is a loss; project until EBITDA turns positive or check the margins.`
          : `The last projected free cash flow is negative, so the terminal value (${tv.toPrecision(6)}) carries a loss forever; project until the cash flow turns positive or check the margins.`,
    });
  }
  if (ev <= 0) {
    warnings.push({
      code: 'enterprise_value_not_positive',
      figure: 'enterpriseValue',
      message: `The enterprise value is ${ev.toPrecision(6)}: not positive.`,
    });
  }
  // Net debt at or above a positive EV leaves equity of no value; the JSON keeps EV − net debt (a negative
  // equity and price per share), which shareholders' limited liability floors at 0 in fact, so say so.
  if (ev > 0 && equity <= 0) {
    warnings.push({
      code: 'equity_value_not_positive',
      figure: 'equityValue',
      message: `Net debt is at least the enterprise value, so equity value (${equity.toPrecision(6)}) and value per share are not positive: EV − net debt, where limited liability would leave shares worth 0.`,
    });
  }
  return warnings;
}
