import { expect } from 'vitest';
import { loadIntoEngine } from './engine.ts';
import { readXlsx } from './xlsx-read.ts';

/**
 * Loads every cell into HyperFormula (formulas as formulas, values as values), lets it recompute,
 * and compares each formula cell with the value the model cached. Returns the formula count.
 */
export function recomputeAndCompare(bytes: Uint8Array): number {
  const { sheets } = readXlsx(bytes);
  const hf = loadIntoEngine(sheets);
  // Figures that cancel to zero (a repaid balance, a liquidated NAV) end as rounding dust whose size
  // is set by the amounts that cancelled, so they compare against the workbook's largest figure.
  let scale = 0;
  for (const s of sheets)
    for (const c of s.cells) if (typeof c.value === 'number') scale = Math.max(scale, Math.abs(c.value));
  let formulas = 0;
  const mismatches: string[] = [];
  for (const s of sheets) {
    const sheet = hf.getSheetId(s.name)!;
    for (const c of s.cells) {
      if (c.formula === undefined) continue;
      formulas++;
      const got = hf.getCellValue({ sheet, row: c.row, col: c.col });
      const want = c.value;
      const ok =
        typeof want === 'number' && typeof got === 'number'
          ? Math.abs(got - want) <= 1e-9 * Math.max(Math.abs(got), Math.abs(want)) ||
            Math.abs(got - want) <= 1e-13 * scale
          : got === want;
      if (!ok)
        mismatches.push(
          `${s.name}!R${c.row + 1}C${c.col + 1} ${c.formula}: cached ${want}, engine ${JSON.stringify(got)}`,
        );
    }
  }
  hf.destroy();
  expect(mismatches.slice(0, 10)).toEqual([]);
  return formulas;
}
