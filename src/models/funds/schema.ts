import { WARN_ABOVE } from '../plausibility.ts';
import type { JsonSchema } from '../types.ts';

export type FeeBasis = 'committed' | 'invested' | 'nav';
export type Waterfall = 'european' | 'american';

/** The `funds` input after defaults are applied. */
export interface FundsInput {
  currency: string;
  commitment: number;
  vintageYear: number;
  fundLifeYears: number;
  contributionRates: number | number[];
  contributionYears?: number;
  bow: number;
  growthRate: number;
  yield: number;
  periodsPerYear: 1 | 4;
  managementFee: { rate: number; basis: FeeBasis; stepDownAfterYear?: number; stepDownRate?: number };
  carry: { rate: number; hurdleRate: number; catchUp: number; waterfall: Waterfall };
  simulations: number;
  growthVolatility: number;
  seed: number;
}

const fraction = (
  title: string,
  description: string,
  min: number,
  max: number,
  dflt?: number,
): JsonSchema => ({
  type: 'number',
  title,
  description,
  'x-unit': 'fraction',
  minimum: min,
  maximum: max,
  ...(dflt === undefined ? {} : { default: dflt }),
});

/** Defaults are the paper's worked example (Takahashi & Alexander 2002) with a 2/20/8 fee and carry. */
export const fundsSchema: JsonSchema = {
  type: 'object',
  title: 'Fund cash-flow projection (Takahashi–Alexander)',
  additionalProperties: false,
  required: [
    'currency',
    'commitment',
    'vintageYear',
    'fundLifeYears',
    'contributionRates',
    'bow',
    'growthRate',
    'yield',
    'periodsPerYear',
    'managementFee',
    'carry',
    'simulations',
    'growthVolatility',
    'seed',
  ],
  properties: {
    currency: { type: 'string', title: 'Currency', pattern: '^[A-Z]{3}$', default: 'USD' },
    commitment: {
      type: 'number',
      title: 'Commitment',
      description: 'Capital committed by the limited partners, available for investment calls.',
      'x-unit': 'currency',
      exclusiveMinimum: 0,
      maximum: 1e13,
      default: 100_000_000,
    },
    vintageYear: { type: 'integer', title: 'Vintage year', minimum: 1950, maximum: 2200, default: 2025 },
    fundLifeYears: {
      type: 'integer',
      title: 'Fund life (L)',
      description: 'Years until the fund is fully liquidated.',
      'x-unit': 'years',
      minimum: 1,
      maximum: 30,
      default: 12,
    },
    contributionRates: {
      title: 'Rate of contribution (RC)',
      description:
        'Share of the still-uncalled commitment called each year: one rate for every year, or one per year (later years reuse the last).',
      'x-unit': 'fraction',
      anyOf: [
        { type: 'number', minimum: 0, maximum: 1 },
        { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, minItems: 1, maxItems: 30 },
      ],
      default: [0.25, 0.333, 0.5],
    },
    contributionYears: {
      type: 'integer',
      title: 'Last contribution year',
      description:
        'If set, whatever commitment is still uncalled is called in the last period of this fund year.',
      minimum: 1,
      maximum: 30,
    },
    bow: {
      type: 'number',
      title: 'Bow (B)',
      description: 'Shape of the distribution rate (t/L)^B: higher means later distributions.',
      minimum: 0,
      maximum: 20,
      default: 2.5,
    },
    growthRate: {
      ...fraction('Growth rate (G)', 'Annual growth of the portfolio (NAV).', -0.99, 2, 0.13),
      'x-warn-above': WARN_ABOVE.growth,
    },
    yield: fraction('Yield (Y)', 'Minimum annual distribution rate of NAV.', 0, 1, 0),
    periodsPerYear: {
      type: 'integer',
      title: 'Periods per year',
      description: '1 for annual, 4 for quarterly cash flows.',
      enum: [1, 4],
      default: 1,
    },
    managementFee: {
      type: 'object',
      title: 'Management fee',
      additionalProperties: false,
      required: ['rate', 'basis'],
      default: { rate: 0.02, basis: 'committed' },
      properties: {
        rate: fraction('Fee rate', 'Annual fee, charged rate / periods per year each period.', 0, 0.1, 0.02),
        basis: {
          type: 'string',
          title: 'Fee basis',
          description:
            'committed: the commitment; invested: net invested capital, capital called less the cost of investments realised; nav: opening NAV.',
          enum: ['committed', 'invested', 'nav'],
          default: 'committed',
        },
        stepDownAfterYear: { type: 'integer', title: 'Step down after fund year', minimum: 1, maximum: 30 },
        stepDownRate: fraction('Fee rate after step-down', 'Annual fee after the step-down year.', 0, 0.1),
      },
    },
    carry: {
      type: 'object',
      title: 'Carried interest',
      additionalProperties: false,
      required: ['rate', 'hurdleRate', 'catchUp', 'waterfall'],
      default: { rate: 0.2, hurdleRate: 0.08, catchUp: 1, waterfall: 'european' },
      properties: {
        rate: fraction('Carry rate', 'GP share of profits.', 0, 0.5, 0.2),
        hurdleRate: fraction('Hurdle rate', 'Annual preferred return to LPs, compounded.', 0, 0.5, 0.08),
        catchUp: fraction(
          'Catch-up',
          'GP share of distributions after the hurdle until it holds its carry share of profits (1 = full catch-up; at or below the carry rate there is no catch-up).',
          0,
          1,
          1,
        ),
        waterfall: {
          type: 'string',
          title: 'Waterfall',
          description: 'european: whole fund (capital, fees and hurdle back first); american: deal by deal.',
          enum: ['european', 'american'],
          default: 'european',
        },
      },
    },
    simulations: {
      type: 'integer',
      title: 'Monte Carlo paths',
      description: '0 runs the deterministic projection only.',
      minimum: 0,
      maximum: 100_000,
      default: 0,
    },
    growthVolatility: fraction(
      'Growth volatility',
      'Annual volatility of portfolio growth (lognormal).',
      0,
      2,
      0.2,
    ),
    seed: {
      type: 'integer',
      title: 'Random seed',
      description: 'The same seed gives the same simulation.',
      minimum: 0,
      maximum: 4_294_967_295,
      default: 1,
    },
  },
};
