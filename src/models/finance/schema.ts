import { WARN_ABOVE } from '../plausibility.ts';
import type { JsonSchema } from '../types.ts';

/** The `finance` input after defaults are applied (what `run` receives). */
export interface FinanceInput {
  currency: string;
  startYear: number;
  years: number;
  revenue: number;
  revenueGrowth: number | number[];
  ebitdaMargin: number;
  depreciationPctRevenue: number;
  capexPctRevenue: number;
  nwcPctRevenue: number;
  taxRate: number;
  discountRate: number;
  terminalGrowth: number;
  /** How the value after the last projected year is found: Gordon growth on FCF, or a multiple of EBITDA. */
  terminalMethod: 'gordon' | 'exitMultiple';
  /** EV / EBITDA at the end of the last projected year, used when terminalMethod is exitMultiple. */
  exitMultiple: number;
  discounting: 'end-year' | 'mid-year';
  netDebt?: number;
  sharesOutstanding?: number;
  loan?: LoanInput;
}

export interface LoanInput {
  principal: number;
  annualRate: number;
  termMonths: number;
  /** ISO date of the loan drawdown; the first payment is one month later. */
  startDate: string;
}

/** The schema's longest projection and loan: the workbook's schedules are sized to these. */
export const MAX_YEARS = 30;
export const MAX_TERM_MONTHS = 600;
/** The fewest shares a value per share is worked out for. */
export const MIN_SHARES = 1e-6;

/**
 * A rate field. `x-unit: 'fraction'` says 0.05 means 5 % (the portal shows it as a percent input);
 * `x-warn-above`, where set, is where the API starts warning that the value looks like a percentage.
 */
const rate = (title: string, description: string, min: number, max: number, dflt: number): JsonSchema => ({
  type: 'number',
  title,
  description,
  'x-unit': 'fraction',
  minimum: min,
  maximum: max,
  default: dflt,
});

/** Every required field has a default, so `{}` is a valid finance input. */
export const financeSchema: JsonSchema = {
  type: 'object',
  title: 'Company projection and valuation',
  additionalProperties: false,
  required: [
    'currency',
    'startYear',
    'years',
    'revenue',
    'revenueGrowth',
    'ebitdaMargin',
    'depreciationPctRevenue',
    'capexPctRevenue',
    'nwcPctRevenue',
    'taxRate',
    'discountRate',
    'terminalGrowth',
    'terminalMethod',
    'exitMultiple',
    'discounting',
  ],
  properties: {
    currency: {
      type: 'string',
      title: 'Currency',
      description: 'ISO 4217 code of all money amounts.',
      pattern: '^[A-Z]{3}$',
      default: 'USD',
    },
    startYear: {
      type: 'integer',
      title: 'First projected year',
      description: 'Calendar year of the first projection year; the base year is the year before.',
      minimum: 1900,
      maximum: 2200,
      default: 2025,
    },
    years: {
      type: 'integer',
      title: 'Projection years',
      description: 'Number of explicitly projected years before the terminal value.',
      'x-unit': 'years',
      minimum: 1,
      maximum: MAX_YEARS,
      default: 5,
    },
    revenue: {
      type: 'number',
      title: 'Base-year revenue',
      description: 'Revenue of the year before the first projected year.',
      'x-unit': 'currency',
      minimum: 0,
      maximum: 1e15,
      default: 1_000_000,
    },
    revenueGrowth: {
      title: 'Revenue growth',
      description: 'Annual revenue growth: one rate for every year, or one rate per projected year.',
      'x-unit': 'fraction',
      'x-warn-above': WARN_ABOVE.growth,
      anyOf: [
        { type: 'number', minimum: -0.99, maximum: 10 },
        { type: 'array', items: { type: 'number', minimum: -0.99, maximum: 10 }, minItems: 1, maxItems: 30 },
      ],
      default: 0.05,
    },
    ebitdaMargin: rate('EBITDA margin', 'EBITDA as a fraction of revenue.', -1, 1, 0.25),
    depreciationPctRevenue: rate(
      'Depreciation and amortisation',
      'D&A as a fraction of revenue.',
      0,
      1,
      0.03,
    ),
    capexPctRevenue: rate('Capital expenditure', 'Capex as a fraction of revenue.', 0, 1, 0.04),
    nwcPctRevenue: rate(
      'Net working capital',
      'Net working capital held, as a fraction of the same year’s revenue.',
      -1,
      1,
      0.1,
    ),
    taxRate: rate('Tax rate', 'Tax on positive EBIT (no loss carry-forward).', 0, 1, 0.25),
    discountRate: {
      ...rate('Discount rate (WACC)', 'Annual weighted average cost of capital.', 0, 1, 0.1),
      'x-warn-above': WARN_ABOVE.rate,
    },
    terminalGrowth: rate(
      'Terminal growth',
      'Perpetual growth of free cash flow after the last projected year (Gordon growth); must be below the discount rate.',
      -0.5,
      0.5,
      0.02,
    ),
    terminalMethod: {
      type: 'string',
      title: 'Terminal value method',
      description:
        'gordon: last free cash flow × (1 + terminal growth) / (discount rate − terminal growth); exitMultiple: last projected EBITDA × exit multiple (EV/EBITDA). An exit value is discounted from the end of the last projected year; a Gordon value, whose flows arrive like the projected ones, from half a year earlier under mid-year discounting.',
      enum: ['gordon', 'exitMultiple'],
      default: 'gordon',
    },
    exitMultiple: {
      type: 'number',
      title: 'Exit multiple (EV/EBITDA)',
      description:
        'Enterprise value as a multiple of the last projected year’s EBITDA, for the exitMultiple method.',
      'x-unit': 'multiple',
      minimum: 0,
      maximum: 100,
      default: 8,
    },
    discounting: {
      type: 'string',
      title: 'Discounting convention',
      description: 'end-year discounts year t by t years; mid-year by t − 0.5 years.',
      enum: ['end-year', 'mid-year'],
      default: 'end-year',
    },
    netDebt: {
      type: 'number',
      title: 'Net debt',
      description: 'Debt minus cash, subtracted from enterprise value to give equity value.',
      'x-unit': 'currency',
      minimum: -1e15,
      maximum: 1e15,
    },
    sharesOutstanding: {
      type: 'number',
      title: 'Shares outstanding',
      description:
        'Diluted shares, for value per share; at least 0.000001 (a count in millions is fine), so the value per share stays a finite number.',
      // Not just above 0: equity values reach ~1e49 at the schema's edges, and equity / 1e-300 shares was
      // Infinity (null in JSON), as was the workbook's data validation letting 0 through to #DIV/0!.
      minimum: MIN_SHARES,
      maximum: 1e15,
    },
    loan: {
      type: 'object',
      title: 'Loan',
      description: 'An amortising loan with monthly payments (payment = Excel PMT).',
      additionalProperties: false,
      required: ['principal', 'annualRate', 'termMonths', 'startDate'],
      properties: {
        principal: {
          type: 'number',
          title: 'Principal',
          'x-unit': 'currency',
          exclusiveMinimum: 0,
          maximum: 1e15,
          default: 1_000_000,
        },
        annualRate: {
          ...rate('Annual interest rate', 'Nominal annual rate, paid monthly (rate / 12).', 0, 1, 0.06),
          'x-warn-above': WARN_ABOVE.rate,
        },
        termMonths: {
          type: 'integer',
          title: 'Term',
          'x-unit': 'months',
          minimum: 1,
          maximum: MAX_TERM_MONTHS,
          default: 360,
        },
        startDate: {
          type: 'string',
          format: 'date',
          title: 'Drawdown date',
          description:
            'The first payment falls one month later. From 1900-03-01 (before it, Excel counts a 29 February 1900 that never was and other spreadsheets do not); the last payment must fall on or before 9999-12-31, the last date Excel has.',
          default: '2025-01-01',
        },
      },
    },
  },
};
