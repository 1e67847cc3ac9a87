import { npv } from '../finmath.ts';
import type { FinanceInput } from './schema.ts';

/**
 * Steps between the rows and columns of the sensitivity tables: one percentage point of WACC, half a
 * point of terminal growth, one turn of EBITDA. The workbook writes them as cells the user can change.
 */
export const SENSITIVITY_STEPS = { discountRate: 0.01, terminalGrowth: 0.005, exitMultiple: 1 } as const;

/** Offsets of the 5 × 5 grid from the inputs, in steps: the input sits in the middle. */
export const SENSITIVITY_OFFSETS = [-2, -1, 0, 1, 2] as const;

/**
 * The smallest discountRate − terminalGrowth accepted. The Gordon value divides by this spread: at
 * 0.1 − 0.0999999999 it is 10^9 times the last cash flow, a number that means nothing.
 */
export const MIN_TERMINAL_SPREAD = 0.005;

/** Enterprise value for each discount rate (rows) and terminal growth or exit multiple (columns). */
export interface SensitivityTable {
  rows: number[];
  cols: number[];
  /** `ev[i][j]` for rows[i], cols[j]; null where the pair is meaningless (spread below the minimum, a negative multiple). */
  ev: (number | null)[][];
}

export interface Sensitivity {
  /** Gordon growth: discount rate × terminal growth. */
  gordon: SensitivityTable;
  /** Exit multiple: discount rate × EV/EBITDA multiple. */
  exitMultiple: SensitivityTable;
}

/** True when the Gordon value at (r, g) is meaningful; the same tolerance as `checkFinance`. */
export function gordonDefined(r: number, g: number): boolean {
  // The tolerance keeps 0.07 − 0.065 (0.0049999… in binary) on the accepted side of 0.5 points.
  return r - g >= MIN_TERMINAL_SPREAD - 1e-12;
}

/**
 * Each cell recomputes EV from the projected flows with its own rates: `NPV(r, FCF) × (1 + r)^offset` plus
 * the terminal value discounted as `runFinance` does (`terminalYears`: n − offset for Gordon, n for a multiple), the operations (and their order) of `runFinance` and of the
 * workbook's formulas, so the centre cell of the chosen method equals the enterprise value.
 */
export function sensitivity(
  input: Pick<FinanceInput, 'discountRate' | 'terminalGrowth' | 'exitMultiple'>,
  fcf: readonly number[],
  lastEbitda: number,
  offset: number,
): Sensitivity {
  const n = fcf.length;
  const lastFcf = fcf[n - 1] ?? 0;
  const step = SENSITIVITY_STEPS;
  const rows = SENSITIVITY_OFFSETS.map((k) => input.discountRate + k * step.discountRate);
  const growth = SENSITIVITY_OFFSETS.map((k) => input.terminalGrowth + k * step.terminalGrowth);
  const multiples = SENSITIVITY_OFFSETS.map((k) => input.exitMultiple + k * step.exitMultiple);
  const pv = rows.map((r) => npv(r, fcf) * (1 + r) ** offset);
  return {
    gordon: {
      rows,
      cols: growth,
      ev: rows.map((r, i) =>
        growth.map((g) =>
          gordonDefined(r, g) ? pv[i]! + (lastFcf * (1 + g)) / (r - g) / (1 + r) ** (n - offset) : null,
        ),
      ),
    },
    exitMultiple: {
      rows,
      cols: multiples,
      ev: rows.map((r, i) =>
        multiples.map((m) => (m >= 0 ? pv[i]! + (lastEbitda * m) / (1 + r) ** n : null)),
      ),
    },
  };
}
