import type { Formatting } from '../../core/tenant.ts';
import { type Cell, colName, type Row, type SheetSpec, type StyleName, sheetRef } from '../xlsx/cells.ts';
import {
  headerRows,
  type InputRow,
  inputsSheetRows,
  logoImages,
  sheetNamer,
  warningRows,
} from '../xlsx/layout.ts';
import { formattingForCurrency } from '../xlsx/styles.ts';
import { writeXlsx } from '../xlsx/writer.ts';
import { type FundsResult, periodLabels } from './run.ts';
import type { FundsInput } from './schema.ts';
import { cashFlowColumns } from './workbook-columns.ts';
import { simulationSheet } from './workbook-simulation.ts';

/** The workbook's sheets by their default names, which a tenant's `formatting.sheetNames` may rename. */
export const FUNDS_SHEETS = ['Inputs', 'Cash flows', 'Summary', 'Simulation'] as const;

export function fundsWorkbookSpec(result: FundsResult, input: FundsInput, formatting: Formatting) {
  const name = sheetNamer(formatting);
  const names = {
    inputs: name('Inputs'),
    flows: name('Cash flows'),
    summary: name('Summary'),
    sim: name('Simulation'),
  };
  const fee = input.managementFee;
  const inputs: InputRow[] = [
    { key: 'currency', label: 'Currency', value: input.currency, style: 'textInput' },
    {
      key: 'commit',
      label: 'Commitment',
      value: input.commitment,
      style: 'moneyInput',
      unit: input.currency,
    },
    { key: 'vintage', label: 'Vintage year', value: input.vintageYear, style: 'integerInput' },
    { key: 'L', label: 'Fund life (L)', value: input.fundLifeYears, style: 'integerInput', unit: 'years' },
    { key: 'P', label: 'Periods per year', value: input.periodsPerYear, style: 'integerInput' },
    { key: 'B', label: 'Bow (B)', value: input.bow, style: 'numberInput' },
    { key: 'G', label: 'Growth rate (G)', value: input.growthRate, style: 'percentInput', unit: 'per year' },
    { key: 'Y', label: 'Yield (Y)', value: input.yield, style: 'percentInput', unit: 'per year' },
    { key: 'feeRate', label: 'Management fee', value: fee.rate, style: 'percentInput', unit: 'per year' },
    {
      key: 'feeBasis',
      label: 'Fee basis',
      value: fee.basis,
      style: 'textInput',
      unit: 'committed | invested | nav',
    },
    {
      key: 'stepAfter',
      label: 'Fee step-down after fund year',
      value: fee.stepDownAfterYear,
      style: 'integerInput',
    },
    { key: 'stepRate', label: 'Fee after step-down', value: fee.stepDownRate, style: 'percentInput' },
    { key: 'carry', label: 'Carried interest', value: input.carry.rate, style: 'percentInput' },
    {
      key: 'hurdle',
      label: 'Hurdle rate',
      value: input.carry.hurdleRate,
      style: 'percentInput',
      unit: 'per year',
    },
    { key: 'catchUp', label: 'GP catch-up', value: input.carry.catchUp, style: 'percentInput' },
    {
      key: 'waterfall',
      label: 'Waterfall',
      value: input.carry.waterfall,
      style: 'textInput',
      unit: 'the Cash flows sheet implements this one',
    },
    {
      key: 'callYear',
      label: 'Last contribution year',
      value: input.contributionYears,
      style: 'integerInput',
      unit: 'per-period call rates are on the Cash flows sheet',
    },
    {
      key: 'N',
      label: 'Periods (computed)',
      value: result.rates.periods,
      style: 'integer',
      formula: (r) => `${r['L']}*${r['P']}`,
    },
    {
      key: 'gP',
      label: 'Growth per period (computed)',
      value: (1 + input.growthRate) ** (1 / input.periodsPerYear) - 1,
      style: 'factor',
      formula: (r) => `(1+${r['G']})^(1/${r['P']})-1`,
    },
    {
      key: 'hP',
      label: 'Hurdle per period (computed)',
      value: (1 + input.carry.hurdleRate) ** (1 / input.periodsPerYear) - 1,
      style: 'factor',
      formula: (r) => `(1+${r['hurdle']})^(1/${r['P']})-1`,
    },
  ];
  const inputsSheet = inputsSheetRows(names.inputs, formatting, 'Inputs', inputs);
  const flows = cashFlowSheet(result, input, inputsSheet.refs, names.flows, formatting);
  const sheets: SheetSpec[] = [
    { name: names.inputs, rows: inputsSheet.rows, cols: [34, 18, 40], images: logoImages(formatting, 2) },
    flows.sheet,
    summarySheet(result, inputsSheet.refs, flows.ref, names.summary, formatting),
  ];
  if (result.simulation) sheets.push(simulationSheet(result, names.sim, formatting));
  return { sheets };
}

export function fundsWorkbook(result: FundsResult, input: FundsInput, formatting: Formatting): Uint8Array {
  const jobFormatting = formattingForCurrency(formatting, input.currency);
  return writeXlsx(fundsWorkbookSpec(result, input, jobFormatting), jobFormatting);
}

const FIRST_ROW = 5; // 0-based row of the t = 0 line; period t sits at FIRST_ROW + t

function cashFlowSheet(
  res: FundsResult,
  input: FundsInput,
  I: Record<string, string>,
  sheetName: string,
  formatting: Formatting,
) {
  const cols = cashFlowColumns(res, input, I);
  const colIndex = new Map(cols.map((c, i) => [c.key, i]));
  const letter = (key: string) => {
    const i = colIndex.get(key);
    if (i === undefined) throw new Error(`no column ${key}`);
    return colName(i);
  };
  const rows: Row[] = [
    ...headerRows(formatting, `Fund cash flows (${input.carry.waterfall} waterfall)`, cols.length),
    [],
  ];
  rows.push([
    { v: 'Blue: per-period inputs. Periods are years or quarters per the Inputs sheet.', s: 'note' },
  ]);
  rows.push(cols.map((c): Cell => ({ v: c.header, s: 'colHeader' })));
  rows.push(
    cols.map((c): Cell | undefined =>
      c.key === 't' ? { v: 0, s: 'integer' } : c.initial ? { v: 0, s: c.style } : undefined,
    ),
  );
  const N = res.rates.periods;
  for (let i = 0; i < N; i++) {
    const r = FIRST_ROW + i + 1;
    const cur = (key: string) => `${letter(key)}${r + 1}`;
    const prev = (key: string) => `${letter(key)}${r}`;
    rows.push(
      cols.map((c): Cell => {
        const v = c.value(i);
        return c.formula ? { f: c.formula(cur, prev), v, s: c.style } : { v, s: c.style };
      }),
    );
  }
  const range = (key: string) =>
    `${sheetRef(sheetName)}!$${letter(key)}$${FIRST_ROW + 2}:$${letter(key)}$${FIRST_ROW + N + 1}`;
  const lastCell = (key: string) => `${sheetRef(sheetName)}!$${letter(key)}$${FIRST_ROW + N + 1}`;
  return {
    sheet: {
      name: sheetName,
      rows,
      cols: cols.map((c) => (c.key === 't' ? 6 : 14)),
      freeze: { rows: FIRST_ROW, cols: 2 },
    } as SheetSpec,
    ref: { range, lastCell },
  };
}

/**
 * IRR's guess: the model's per-period root to 4 significant digits. Newton from there reaches the same
 * root in Excel, LibreOffice and HyperFormula, where a fixed guess can land on another root of flows
 * with several (or on none: `#NUM!`).
 */
function irrGuess(annual: number, P: number): string {
  const perPeriod = (1 + annual) ** (1 / P) - 1;
  const short = Number(perPeriod.toPrecision(4));
  return String(short > -1 ? short : perPeriod);
}

function summarySheet(
  res: FundsResult,
  I: Record<string, string>,
  ref: { range: (k: string) => string; lastCell: (k: string) => string },
  sheetName: string,
  formatting: Formatting,
): SheetSpec {
  const m = res.metrics;
  const rows: Row[] = [...headerRows(formatting, 'Summary (net to limited partners)', 10), []];
  const line = (label: string, cell: Cell) => rows.push([{ v: label, s: 'label' }, cell]);
  const at = (row: number) => `B${row + 1}`;
  const paidInRow = rows.length;
  line('Paid-in (contributions + fees)', { f: ref.lastCell('lpPaidIn'), v: m.paidIn, s: 'money' });
  line('Distributions', { f: ref.lastCell('cumLpD'), v: m.distributions, s: 'money' });
  line('Remaining NAV', { f: ref.lastCell('lpNav'), v: m.nav, s: 'money' });
  const ratio = (label: string, f: string, v: number, s: StyleName = 'number') => line(label, { f, v, s });
  ratio('DPI', `IF(${at(paidInRow)}>0,${at(paidInRow + 1)}/${at(paidInRow)},0)`, m.dpi);
  ratio('RVPI', `IF(${at(paidInRow)}>0,${at(paidInRow + 2)}/${at(paidInRow)},0)`, m.rvpi);
  ratio(
    'TVPI',
    `IF(${at(paidInRow)}>0,(${at(paidInRow + 1)}+${at(paidInRow + 2)})/${at(paidInRow)},0)`,
    m.tvpi,
  );
  const irrCell = (range: string, v: number): Cell =>
    Number.isFinite(v)
      ? { f: `(1+IRR(${range},${irrGuess(v, res.rates.perYear)}))^${I['P']}-1`, v, s: 'percent' }
      : { v: 'n/a', s: 'note' };
  line('Net IRR (annual)', irrCell(ref.range('net'), m.netIrr));
  line('Gross IRR (annual)', irrCell(ref.range('grossFlow'), m.grossIrr));
  line('Management fees', { f: `SUM(${ref.range('fee')})`, v: m.totalFees, s: 'money' });
  line('Carried interest', { f: ref.lastCell('cumCarry'), v: m.totalCarry, s: 'money' });
  line('Peak capital at risk', { f: `-MIN(0,${ref.range('cumNet')})`, v: m.peakCapitalAtRisk, s: 'money' });
  line(
    'Break-even year',
    m.breakEvenYear === null ? { v: 'not reached', s: 'note' } : { v: m.breakEvenYear, s: 'integer' },
  );
  rows.push(...warningRows(res.warnings));
  rows.push([], [{ v: 'The J-curve: cumulative net cash flow to LPs, with LP NAV.', s: 'note' }]);
  const top = rows.length + 1;
  return {
    name: sheetName,
    rows,
    cols: [32, 18],
    images: logoImages(formatting, 9),
    charts: [
      {
        kind: 'line',
        title: 'J-curve: cumulative net cash flow to LPs',
        categoriesRef: ref.range('label'),
        categories: periodLabels(res),
        series: [
          {
            name: 'Cumulative net cash flow',
            ref: ref.range('cumNet'),
            values: Array.from(res.path.cumNetCashFlow),
          },
          { name: 'LP NAV', ref: ref.range('lpNav'), values: Array.from(res.path.lpNav) },
        ],
        from: { col: 0, row: top },
        to: { col: 10, row: top + 20 },
      },
    ],
  };
}
