import type { Formatting } from '../../core/tenant.ts';
import type { Row, SheetSpec } from './cells.ts';
import { sheetRef } from './cells.ts';
import { headerRows } from './layout.ts';

/** One live check: a formula that is TRUE while the identity holds, and its value for the run's numbers. */
export interface Check {
  label: string;
  formula: string;
  ok: boolean;
}

/**
 * Relative tolerance of the identities: far above float rounding, far below any real error. It is relative
 * to the magnitudes the identity is made of (its two sides and the terms they sum), never to a floor of 1:
 * with a floor, a workbook whose money is all below 1 (inputs of 0.001) let a whole-unit-scale error of
 * 1e-9 through, a relative error of 1e-6 on its figures.
 */
const TOL = 1e-9;
/** TOL as formulas spell it: a plain decimal, which every engine parses (HyperFormula refuses `1E-9`). */
export const TOL_TEXT = '0.000000001';

/**
 * `a` equals `b` to TOL of the largest magnitude among `a`, `b` and `terms` (the parts that `a` or `b` sum,
 * whose rounding dust remains when the sides cancel to near 0): the formula. Both sides exactly 0 hold.
 */
export function near(a: string, b: string, ...terms: string[]): string {
  const scale = [a, b, ...terms].map((x) => `ABS(${x})`).join(',');
  return `ABS((${a})-(${b}))<=${TOL_TEXT}*MAX(${scale})`;
}

/** `near`'s value for the run's numbers. */
export function isNear(a: number, b: number, ...terms: number[]): boolean {
  return Math.abs(a - b) <= TOL * Math.max(Math.abs(a), Math.abs(b), ...terms.map(Math.abs));
}

/** `x` is 0 to TOL of `scale` (a magnitude of the workbook's own, such as the principal it repays). */
export function nearZero(x: string, scale: string): string {
  return `ABS(${x})<=${TOL_TEXT}*ABS(${scale})`;
}

export function isNearZero(x: number, scale: number): boolean {
  return Math.abs(x) <= TOL * Math.abs(scale);
}

/**
 * A Checks sheet in the FAST standard's spirit: each identity the model must satisfy as a live formula,
 * and at the top one flag that is TRUE only when all are. An edit that breaks an identity (a formula
 * typed over, an input past what the sheets hold) turns its line and the flag FALSE.
 * Returns the sheet and the absolute reference of the overall flag, which the Summary shows.
 */
export function checksSheet(
  sheetName: string,
  formatting: Formatting,
  checks: Check[],
): { sheet: SheetSpec; overall: string; ok: boolean } {
  const rows: Row[] = [...headerRows(formatting, 'Checks', 2), []];
  const first = 7; // 1-based row of the first check
  const last = first + checks.length - 1;
  rows.push(
    [
      { v: 'All checks pass', s: 'bold' },
      { f: `AND(B${first}:B${last})`, v: checks.every((c) => c.ok), s: 'bold' },
    ],
    [{ v: 'Each line is TRUE while its identity holds; they follow every edit to the inputs.', s: 'note' }],
    [
      { v: 'Check', s: 'colHeader' },
      { v: 'OK', s: 'colHeader' },
    ],
  );
  // An identity that cannot be computed any more (#REF! past the sheet's rows) fails rather than errs.
  for (const c of checks)
    rows.push([
      { v: c.label, s: 'label' },
      { f: `IFERROR(${c.formula},FALSE())`, v: c.ok, s: 'bold' },
    ]);
  return {
    sheet: { name: sheetName, rows, cols: [78, 10] },
    overall: `${sheetRef(sheetName)}!$B$4`,
    ok: checks.every((c) => c.ok),
  };
}
