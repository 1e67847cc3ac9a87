/** The workbook content model: what a model's renderer builds and the writer serialises. */

export type StyleName =
  | 'default'
  | 'header'
  | 'title'
  | 'label'
  | 'bold'
  | 'colHeader'
  | 'money'
  | 'moneyBold'
  | 'moneyInput'
  | 'percent'
  | 'percentInput'
  | 'number'
  | 'numberInput'
  | 'factor'
  | 'integer'
  | 'integerInput'
  | 'date'
  | 'dateInput'
  | 'textInput'
  /** A structural input fixed at render (grey, locked): changing it means running the model again. */
  | 'fixed'
  | 'note';

export interface Cell {
  /** The value, or for a formula cell the cached result Excel shows until it recalculates. */
  v?: number | string | boolean;
  /** A formula without the leading `=`, in Excel's (en-US) syntax. */
  f?: string;
  s?: StyleName;
}

export type Row = (Cell | undefined)[];

export interface ChartSeries {
  name: string;
  /** A range formula such as `'DCF'!$C$16:$G$16`, with the cached values below. */
  ref: string;
  values: number[];
  color?: string;
  /** Area fill opacity, 0 to 1 (a fan chart's outer bands are lighter). */
  opacity?: number;
  /** Drawn without fill or line and left out of the legend: the invisible base a stacked fan stands on. */
  invisible?: boolean;
}

export interface ChartSpec {
  /**
   * `fan`: stacked areas (`series[0]` the invisible base, then one band per series, each the width between
   * two percentiles) with `lines` (the median) drawn over them on the same axes.
   */
  kind: 'column' | 'line' | 'fan';
  /** Line series over a fan's bands. */
  lines?: ChartSeries[];
  title: string;
  categoriesRef: string;
  categories: (number | string)[];
  series: ChartSeries[];
  /** Zero-based cell anchor of the top-left and bottom-right corners. */
  from: { col: number; row: number };
  to: { col: number; row: number };
  valueFormat?: string;
}

export interface ImageSpec {
  png: Uint8Array;
  col: number;
  row: number;
  /** Height in pixels; the width follows the PNG's aspect ratio. */
  heightPx: number;
}

export interface SheetSpec {
  name: string;
  rows: Row[];
  /** Column widths in characters, from column A. */
  cols?: number[];
  merges?: string[];
  /** Rows and columns kept visible when scrolling. */
  freeze?: { rows: number; cols: number };
  charts?: ChartSpec[];
  images?: ImageSpec[];
  /**
   * Columns or rows (zero-based, inclusive) written but hidden: a schedule sized to the schema's maximum
   * shows only the periods of the run, and edits to its length still compute in the hidden part.
   */
  hiddenCols?: { from: number; to: number };
  hiddenRows?: { from: number; to: number };
  /** Sheet protection without a password: only cells whose style is an input (`…Input`) can be edited. */
  protect?: boolean;
  /** Excel data validation: what an input cell accepts (its schema range), by A1 range. */
  validations?: Validation[];
}

export type Validation = { ref: string; message: string; allowBlank?: boolean } & (
  | { kind: 'whole' | 'decimal'; min: number; max: number }
  | { kind: 'list'; values: (string | number)[] }
  /** Excel's "custom": a formula TRUE for an accepted value, its references relative to the cell `ref`. */
  | { kind: 'custom'; formula: string }
);

/** What docProps/core.xml, app.xml and custom.xml say about the workbook. */
export interface DocumentProperties {
  title: string;
  /** The tenant's name (app.xml Company). */
  company?: string;
  jobId?: string;
  tenantId?: string;
  model?: string;
  modelVersion?: string;
  /** ISO 8601 timestamp; the caller passes it so a render stays deterministic. */
  created?: string;
}

export interface WorkbookSpec {
  sheets: SheetSpec[];
  properties?: DocumentProperties;
}

/** Zero-based column index → letters (0 → A, 26 → AA). */
export function colName(index: number): string {
  let s = '';
  let n = index + 1;
  while (n > 0) {
    const m = (n - 1) % 26;
    s = String.fromCharCode(65 + m) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

/** Zero-based (col, row) → `B3`; `abs` gives `$B$3`. */
export function a1(col: number, row: number, abs = false): string {
  return abs ? `$${colName(col)}$${row + 1}` : `${colName(col)}${row + 1}`;
}

/** A sheet name as formulas need it: always quoted, inner quotes doubled. */
export function sheetRef(name: string): string {
  return `'${name.replace(/'/g, "''")}'`;
}

/**
 * Excel forbids `[]:*?/\` in sheet names, an apostrophe at either end, and caps them at 31 characters
 * (cut here never inside a surrogate pair); characters XML cannot carry are dropped as well.
 */
export function safeSheetName(name: string): string {
  let cleaned = name
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[[\]:*?/\\\t\n\r]/g, ' ')
    .trim()
    .replace(/^'+|'+$/g, '')
    .trim();
  if (cleaned.length > 31) {
    const last = cleaned.charCodeAt(30);
    cleaned = cleaned.slice(0, last >= 0xd800 && last <= 0xdbff ? 30 : 31).trimEnd();
  }
  return cleaned.length ? cleaned : 'Sheet';
}
