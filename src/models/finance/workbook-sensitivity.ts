import { a1, type Cell, type Row } from '../xlsx/cells.ts';
import type { FinanceResult } from './run.ts';
import {
  MIN_TERMINAL_SPREAD,
  SENSITIVITY_OFFSETS,
  SENSITIVITY_STEPS,
  type SensitivityTable,
} from './sensitivity.ts';

/** The two cells (Gordon table, exit-multiple table) at the inputs: each equals EV under its method. */
export interface SensitivityCentres {
  gordon: string;
  exitMultiple: string;
}

/** `base ± k × step` as Excel writes it, with the operations `sensitivity()` does (r + k·step). */
function stepped(base: string, k: number, step: string): string {
  if (k === 0) return base;
  return k > 0 ? `${base}+${k}*${step}` : `${base}-${-k}*${step}`;
}

/**
 * Appends the sensitivity tables to the DCF sheet's rows: enterprise value for five discount rates (down)
 * by five terminal growth rates, and by five exit multiples (across), centred on the inputs. Every cell is a
 * live formula on the DCF rows (NPV of the free cash flows plus the discounted terminal value at its own
 * rates), so the tables follow any edit; steps are cells too. A pair without a meaningful value (spread
 * below the minimum, a negative multiple) shows "n/a".
 */
export function sensitivityRows(
  rows: Row[],
  res: FinanceResult,
  I: Record<string, string>,
  sheet: string,
  ranges: { fcf: string; ebitda: string },
): SensitivityCentres {
  const cell = (col: number, row: number) => a1(col, row, true);
  rows.push([], [{ v: 'Sensitivity of enterprise value', s: 'bold' }]);
  const stepRow = (label: string, value: number, style: Cell['s']) => {
    rows.push([{ v: label, s: 'label' }, undefined, { v: value, s: style }]);
    return cell(2, rows.length - 1);
  };
  const steps = {
    r: stepRow('Step of discount rate (WACC)', SENSITIVITY_STEPS.discountRate, 'percent'),
    g: stepRow('Step of terminal growth', SENSITIVITY_STEPS.terminalGrowth, 'percent'),
    m: stepRow('Step of exit multiple', SENSITIVITY_STEPS.exitMultiple, 'number'),
  };
  const r = I['r']!;
  const years = I['years']!;
  const pvOfFlows = (ri: string) => `NPV(${ri},${ranges.fcf})*(1+${ri})^${I['offset']}`;
  const table = (
    title: string,
    data: SensitivityTable,
    colBase: string,
    colStep: string,
    colStyle: Cell['s'],
    formula: (ri: string, cj: string) => string,
  ): string => {
    rows.push([], [{ v: title, s: 'bold' }]);
    const header = rows.length;
    rows.push([
      { v: 'WACC ↓', s: 'colHeader' },
      undefined,
      ...SENSITIVITY_OFFSETS.map(
        (k, j): Cell => ({ f: stepped(colBase, k, colStep), v: data.cols[j]!, s: colStyle }),
      ),
    ]);
    SENSITIVITY_OFFSETS.forEach((k, i) => {
      const row = rows.length;
      const ri = `$B$${row + 1}`;
      rows.push([
        undefined,
        { f: stepped(r, k, steps.r), v: data.rows[i]!, s: 'percent' },
        ...SENSITIVITY_OFFSETS.map((_, j): Cell => {
          const cj = `${a1(2 + j, header).replace(/(\d+)$/, '$$$1')}`;
          const value = data.ev[i]![j];
          return { f: formula(ri, cj), v: value ?? 'n/a', s: 'money' };
        }),
      ]);
    });
    return `${sheet}!${cell(4, header + 3)}`;
  };
  const gordon = table(
    'Gordon growth: WACC (down) × terminal growth (across)',
    res.sensitivity.gordon,
    I['g']!,
    steps.g,
    'percent',
    (ri, gj) =>
      `IF(${ri}-${gj}<${MIN_TERMINAL_SPREAD - 1e-12},"n/a",${pvOfFlows(ri)}+INDEX(${ranges.fcf},1,${years})*(1+${gj})/(${ri}-${gj})/(1+${ri})^(${years}-${I['offset']}))`,
  );
  const exitMultiple = table(
    'Exit multiple: WACC (down) × EV/EBITDA multiple (across)',
    res.sensitivity.exitMultiple,
    I['exitMultiple']!,
    steps.m,
    'number',
    (ri, mj) =>
      `IF(${mj}<0,"n/a",${pvOfFlows(ri)}+INDEX(${ranges.ebitda},1,${years})*${mj}/(1+${ri})^${years})`,
  );
  rows.push([
    {
      v: 'Each cell recomputes enterprise value from the free cash flows above at its own rates; the middle cell of the table of the chosen method equals the enterprise value.',
      s: 'note',
    },
  ]);
  return { gordon, exitMultiple };
}
