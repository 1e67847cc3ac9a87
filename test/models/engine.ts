import { HyperFormula } from 'hyperformula';
import type { ReadSheet } from './xlsx-read.ts';

/** Every cell of a read-back workbook in HyperFormula: formulas as formulas, values as values. */
export function loadIntoEngine(sheets: ReadSheet[]): HyperFormula {
  const data: Record<string, (string | number | boolean | null)[][]> = {};
  for (const s of sheets) {
    const grid: (string | number | boolean | null)[][] = [];
    for (const c of s.cells) {
      grid[c.row] ??= [];
      grid[c.row]![c.col] = c.formula !== undefined ? `=${c.formula}` : (c.value ?? null);
    }
    data[s.name] = Array.from(grid, (r) => Array.from(r ?? [], (v) => v ?? null));
  }
  // Array arithmetic: Excel and LibreOffice evaluate SUMPRODUCT's arguments as arrays (the IRR solver's NPV signs).
  return HyperFormula.buildFromSheets(data, { licenseKey: 'gpl-v3', useArrayArithmetic: true });
}
