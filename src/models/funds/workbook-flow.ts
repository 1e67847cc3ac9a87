import type { StyleName } from '../xlsx/cells.ts';

export type Ref = (key: string) => string;

/** One column of the Cash flows sheet: its formula per period row and the model's value for it. */
export interface FlowColumn {
  key: string;
  header: string;
  style: StyleName;
  /** Whether the t = 0 row holds a 0 (columns whose previous value the next row reads). */
  initial?: boolean;
  formula?: (cur: Ref, prev: Ref) => string;
  value: (i: number) => number | string;
  /**
   * Past the fund's life (flag 0): `zero` (the default for formulas) shows 0, `carry` keeps the last value
   * (totals to date), `none` computes as is (period number, label, the flags themselves).
   */
  idle?: 'zero' | 'carry' | 'none';
}
