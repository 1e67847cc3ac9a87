import type { Formatting } from '../../core/tenant.ts';
import type { JsonSchema, ModelWarning } from '../types.ts';
import {
  a1,
  type Cell,
  type ImageSpec,
  type Row,
  type StyleName,
  safeSheetName,
  sheetRef,
  type Validation,
} from './cells.ts';
import { isPng } from './drawing.ts';
import { type Accepts, acceptsField, fixedByTenant } from './validation.ts';

/** Sheet names: the tenant's override for a default name, made valid for Excel. */
export function sheetNamer(formatting: Formatting): (defaultName: string) => string {
  return (name) => safeSheetName(formatting.sheetNames?.[name] ?? name);
}

/** The brand band (company name, with room for the logo) and the sheet title: rows 1 and 2 of every sheet. */
export function headerRows(formatting: Formatting, title: string, width: number): Row[] {
  const band: Row = Array.from({ length: width }, (): Cell => ({ s: 'header' }));
  band[0] = { v: formatting.companyName ?? '', s: 'header' };
  return [band, [{ v: title, s: 'title' }]];
}

/** The tenant's logo placed at the right end of the brand band, when it is a PNG. */
export function logoImages(formatting: Formatting, col: number): ImageSpec[] {
  if (!formatting.logoPng) return [];
  const png = Uint8Array.from(Buffer.from(formatting.logoPng, 'base64'));
  return isPng(png) ? [{ png, col, row: 0, heightPx: 20 }] : [];
}

export interface InputRow {
  key: string;
  label: string;
  value: number | string | undefined;
  style: StyleName;
  unit?: string;
  /** A computed helper shown among the inputs; gets the references laid out so far. */
  formula?: (refs: Record<string, string>) => string;
  /** The schema's range for an editable input, enforced by Excel's data validation (`acceptsField`). */
  accepts?: Accepts;
}

/** What the unit column says of a structural input (style `fixed`). */
export const FIXED_NOTE = 'fixed by this run: re-run the model to change this';

/** What the unit column says of an input the tenant's rules fix (`fixed.<path>`). */
export const TENANT_FIXED_NOTE = "fixed by your organisation's rules";

/** The locked style of each input style: the same number format, no input colours. */
const LOCKED: Partial<Record<StyleName, StyleName>> = {
  moneyInput: 'money',
  percentInput: 'percent',
  numberInput: 'number',
  integerInput: 'integer',
  dateInput: 'date',
  textInput: 'fixed',
};

/**
 * The input row of schema field `path` (dotted) as the tenant's schema (`schemaForTenant`) shapes it: an
 * editable cell with its validation (`accepts`, built from that schema), or, when the tenant's rules fix the
 * field, a locked cell in the non-input style of its kind with the note saying so (the API refuses any value
 * for a fixed field, so the workbook offers none).
 */
export function schemaInput(
  schema: JsonSchema,
  path: string,
  row: Omit<InputRow, 'accepts'>,
  accepts: () => Accepts,
): InputRow {
  if (!fixedByTenant(schema, path)) return { ...row, accepts: accepts() };
  return {
    ...row,
    style: LOCKED[row.style] ?? row.style,
    unit: row.unit ? `${row.unit}; ${TENANT_FIXED_NOTE}` : TENANT_FIXED_NOTE,
  };
}

/**
 * A model's two helpers for its Inputs rows, bound to the tenant's schema: `accepts`, the Excel data
 * validation of a field (`acceptsField`), and `field`, the row of a field (`schemaInput`).
 */
export function schemaFields(schema: JsonSchema) {
  return {
    accepts: (path: string, opts?: Parameters<typeof acceptsField>[2]) => acceptsField(schema, path, opts),
    field: (path: string, row: Omit<InputRow, 'accepts'>, accepts: () => Accepts) =>
      schemaInput(schema, path, row, accepts),
  };
}

/**
 * Lays out an Inputs sheet (label | value | unit) below the header and returns, for each input key,
 * the absolute reference other sheets' formulas use (`'Inputs'!$B$4`).
 */
export function inputsSheetRows(
  sheetName: string,
  formatting: Formatting,
  title: string,
  inputs: InputRow[],
): { rows: Row[]; refs: Record<string, string>; validations: Validation[] } {
  const rows: Row[] = [...headerRows(formatting, title, 3), []];
  rows.push([
    { v: 'Input', s: 'colHeader' },
    { v: 'Value', s: 'colHeader' },
    { v: 'Unit', s: 'colHeader' },
  ]);
  const refs: Record<string, string> = {};
  const pending: [Accepts, string][] = [];
  for (const input of inputs) {
    refs[input.key] = `${sheetRef(sheetName)}!${a1(1, rows.length, true)}`;
    if (input.accepts) pending.push([input.accepts, a1(1, rows.length)]);
    rows.push([
      { v: input.label, s: 'label' },
      input.formula
        ? { f: input.formula(refs), ...(input.value === undefined ? {} : { v: input.value }), s: input.style }
        : input.value === undefined
          ? { s: input.style }
          : { v: input.value, s: input.style },
      input.style === 'fixed' && !input.unit?.endsWith(TENANT_FIXED_NOTE)
        ? { v: input.unit ? `${input.unit}; ${FIXED_NOTE}` : FIXED_NOTE, s: 'note' }
        : input.unit
          ? { v: input.unit, s: 'note' }
          : undefined,
    ]);
  }
  rows.push(
    [],
    [{ v: 'Blue cells are inputs; every other figure is a formula that refers to them.', s: 'note' }],
    [
      {
        v: 'Grey cells are fixed by the structure of this run; re-run the model to change them. The sheet is protected (no password) so that only inputs can be edited.',
        s: 'note',
      },
    ],
  );
  // After the loop: a cross-field validation may name inputs laid out below its own.
  const validations = pending.map(
    ([accepts, cell]) =>
      ({ ...(typeof accepts === 'function' ? accepts(cell, refs) : accepts), ref: cell }) as Validation,
  );
  return { rows, refs, validations };
}

/** The result's warnings as notes under a heading, as values: they hold for the inputs the job ran with. */
export function warningRows(warnings: readonly ModelWarning[]): Row[] {
  if (!warnings.length) return [];
  return [
    [],
    [{ v: 'Warnings (for the inputs this job ran with)', s: 'bold' }],
    ...warnings.map((w): Row => [{ v: w.message, s: 'note' }]),
  ];
}
