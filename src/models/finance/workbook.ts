import type { Formatting } from '../../core/tenant.ts';
import { excelSerial } from '../finmath.ts';
import { a1, type Cell, colName, type Row, type SheetSpec, type StyleName, sheetRef } from '../xlsx/cells.ts';
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
import { type FinanceResult, TERMINAL_SHARE_WARNING } from './run.ts';
import type { FinanceInput } from './schema.ts';
import { loanSheet } from './workbook-loan.ts';

/** The workbook's sheets by their default names, which a tenant's `formatting.sheetNames` may rename. */
export const FINANCE_SHEETS = ['Inputs', 'DCF', 'Loan', 'Summary'] as const;

/** The finance workbook as a spec: Inputs, DCF, optional Loan, Summary with the FCF chart. */
export function financeWorkbookSpec(result: FinanceResult, input: FinanceInput, formatting: Formatting) {
  const name = sheetNamer(formatting);
  const names = { inputs: name('Inputs'), dcf: name('DCF'), loan: name('Loan'), summary: name('Summary') };
  const growthArray = Array.isArray(input.revenueGrowth);
  const inputs: InputRow[] = [
    { key: 'currency', label: 'Currency', value: input.currency, style: 'textInput' },
    { key: 'startYear', label: 'First projected year', value: input.startYear, style: 'integerInput' },
    { key: 'years', label: 'Projection years', value: input.years, style: 'integerInput', unit: 'years' },
    {
      key: 'revenue',
      label: 'Base-year revenue',
      value: input.revenue,
      style: 'moneyInput',
      unit: input.currency,
    },
    growthArray
      ? { key: 'revenueGrowth', label: 'Revenue growth', value: 'per year, on the DCF sheet', style: 'note' }
      : {
          key: 'revenueGrowth',
          label: 'Revenue growth',
          value: input.revenueGrowth as number,
          style: 'percentInput',
        },
    { key: 'ebitdaMargin', label: 'EBITDA margin', value: input.ebitdaMargin, style: 'percentInput' },
    { key: 'dep', label: 'D&A, % of revenue', value: input.depreciationPctRevenue, style: 'percentInput' },
    { key: 'capex', label: 'Capex, % of revenue', value: input.capexPctRevenue, style: 'percentInput' },
    {
      key: 'nwc',
      label: 'Net working capital, % of revenue',
      value: input.nwcPctRevenue,
      style: 'percentInput',
    },
    { key: 'tax', label: 'Tax rate', value: input.taxRate, style: 'percentInput' },
    { key: 'r', label: 'Discount rate (WACC)', value: input.discountRate, style: 'percentInput' },
    { key: 'g', label: 'Terminal growth', value: input.terminalGrowth, style: 'percentInput' },
    { key: 'discounting', label: 'Discounting', value: input.discounting, style: 'textInput' },
    {
      key: 'offset',
      label: 'Timing offset (computed)',
      value: result.timingOffset,
      style: 'number',
      unit: 'years earlier than end-year',
      formula: (r) => `IF(${r['discounting']}="mid-year",0.5,0)`,
    },
    { key: 'netDebt', label: 'Net debt', value: result.netDebt, style: 'moneyInput', unit: input.currency },
  ];
  if (input.sharesOutstanding) {
    inputs.push({
      key: 'shares',
      label: 'Shares outstanding',
      value: input.sharesOutstanding,
      style: 'numberInput',
    });
  }
  if (input.loan) {
    inputs.push(
      {
        key: 'principal',
        label: 'Loan principal',
        value: input.loan.principal,
        style: 'moneyInput',
        unit: input.currency,
      },
      { key: 'loanRate', label: 'Loan annual rate', value: input.loan.annualRate, style: 'percentInput' },
      {
        key: 'term',
        label: 'Loan term',
        value: input.loan.termMonths,
        style: 'integerInput',
        unit: 'months',
      },
      {
        key: 'loanStart',
        label: 'Loan drawdown date',
        value: excelSerial(input.loan.startDate),
        style: 'dateInput',
      },
    );
  }
  const inputsSheet = inputsSheetRows(names.inputs, formatting, 'Inputs', inputs);
  const I = inputsSheet.refs;
  const dcf = dcfSheet(result, I, names.dcf, formatting, growthArray);
  const sheets: SheetSpec[] = [
    { name: names.inputs, rows: inputsSheet.rows, cols: [36, 16, 26], images: logoImages(formatting, 2) },
    dcf.sheet,
  ];
  const loanRefs = result.loan ? loanSheet(result, I, names.loan, formatting) : undefined;
  if (loanRefs) sheets.push(loanRefs.sheet);
  sheets.push(summarySheet(result, names, dcf.refs, loanRefs?.refs, formatting));
  return { sheets };
}

export function financeWorkbook(
  result: FinanceResult,
  input: FinanceInput,
  formatting: Formatting,
): Uint8Array {
  const jobFormatting = formattingForCurrency(formatting, input.currency);
  return writeXlsx(financeWorkbookSpec(result, input, jobFormatting), jobFormatting);
}

type DcfRefs = Record<'fcf' | 'years' | 'pvFcf' | 'tv' | 'pvTv' | 'ev' | 'equity' | 'perShare', string>;

function dcfSheet(
  res: FinanceResult,
  I: Record<string, string>,
  sheetName: string,
  formatting: Formatting,
  growthArray: boolean,
): { sheet: SheetSpec; refs: DcfRefs } {
  const n = res.years.length;
  const rows: Row[] = [...headerRows(formatting, 'Discounted cash flow', n + 2), []];
  const R = (row: number, col: number) => a1(col, row);
  // Row numbers (0-based) of each line, so formulas can name them.
  const L = {
    year: 3,
    t: 4,
    growth: 5,
    revenue: 6,
    ebitda: 7,
    da: 8,
    ebit: 9,
    tax: 10,
    nopat: 11,
    capex: 12,
    nwc: 13,
    dnwc: 14,
    fcf: 15,
    df: 16,
    pv: 17,
  };
  const line = (
    label: string,
    style: StyleName,
    cells: (col: number) => Cell | undefined,
    base?: Cell,
  ): Row => {
    const row: Row = [{ v: label, s: style === 'moneyBold' ? 'bold' : 'label' }, base];
    for (let i = 0; i < n; i++) row.push(cells(i + 2));
    return row;
  };
  const y = (c: number) => res.years[c - 2]!;
  const prev = (c: number) => colName(c - 1);
  const col = (c: number) => colName(c);
  rows.push(
    line('Year', 'colHeader', (c) => ({ f: `${prev(c)}${L.year + 1}+1`, v: y(c).year, s: 'colHeader' }), {
      f: `${I['startYear']}-1`,
      v: res.baseYear.year,
      s: 'colHeader',
    }),
    line('Period t', 'integer', (c) => ({ f: `${prev(c)}${L.t + 1}+1`, v: y(c).t, s: 'integer' }), {
      v: 0,
      s: 'integer',
    }),
    line('Revenue growth', 'percent', (c) =>
      growthArray
        ? { v: y(c).growth, s: 'percentInput' }
        : { f: I['revenueGrowth']!, v: y(c).growth, s: 'percent' },
    ),
    line(
      'Revenue',
      'money',
      (c) => ({ f: `${prev(c)}${L.revenue + 1}*(1+${col(c)}${L.growth + 1})`, v: y(c).revenue, s: 'money' }),
      { f: I['revenue']!, v: res.baseYear.revenue, s: 'money' },
    ),
    line('EBITDA', 'money', (c) => ({
      f: `${R(L.revenue, c)}*${I['ebitdaMargin']}`,
      v: y(c).ebitda,
      s: 'money',
    })),
    line('Depreciation & amortisation', 'money', (c) => ({
      f: `${R(L.revenue, c)}*${I['dep']}`,
      v: y(c).depreciation,
      s: 'money',
    })),
    line('EBIT', 'money', (c) => ({ f: `${R(L.ebitda, c)}-${R(L.da, c)}`, v: y(c).ebit, s: 'money' })),
    line('Tax', 'money', (c) => ({ f: `MAX(0,${R(L.ebit, c)})*${I['tax']}`, v: y(c).tax, s: 'money' })),
    line('NOPAT', 'money', (c) => ({ f: `${R(L.ebit, c)}-${R(L.tax, c)}`, v: y(c).nopat, s: 'money' })),
    line('Capex', 'money', (c) => ({ f: `${R(L.revenue, c)}*${I['capex']}`, v: y(c).capex, s: 'money' })),
    line(
      'Net working capital',
      'money',
      (c) => ({ f: `${R(L.revenue, c)}*${I['nwc']}`, v: y(c).nwc, s: 'money' }),
      {
        f: `${R(L.revenue, 1)}*${I['nwc']}`,
        v: res.baseYear.nwc,
        s: 'money',
      },
    ),
    line('Change in NWC', 'money', (c) => ({
      f: `${R(L.nwc, c)}-${R(L.nwc, c - 1)}`,
      v: y(c).changeInNwc,
      s: 'money',
    })),
    line('Free cash flow', 'moneyBold', (c) => ({
      f: `${R(L.nopat, c)}+${R(L.da, c)}-${R(L.capex, c)}-${R(L.dnwc, c)}`,
      v: y(c).freeCashFlow,
      s: 'moneyBold',
    })),
    line('Discount factor', 'factor', (c) => ({
      f: `1/(1+${I['r']})^(${R(L.t, c)}-${I['offset']})`,
      v: y(c).discountFactor,
      s: 'factor',
    })),
    line('Present value', 'money', (c) => ({
      f: `${R(L.fcf, c)}*${R(L.df, c)}`,
      v: y(c).presentValue,
      s: 'money',
    })),
    [],
    [{ v: 'Valuation', s: 'bold' }],
  );
  const first = colName(2);
  const last = colName(n + 1);
  const fcfRange = `${first}${L.fcf + 1}:${last}${L.fcf + 1}`;
  const valuation: [string, Cell][] = [
    [
      'Sum of present values (check)',
      {
        f: `SUM(${first}${L.pv + 1}:${last}${L.pv + 1})`,
        v: sum(res.years.map((x) => x.presentValue)),
        s: 'money',
      },
    ],
    [
      'PV of free cash flows',
      { f: `NPV(${I['r']},${fcfRange})*(1+${I['r']})^${I['offset']}`, v: res.pvOfCashFlows, s: 'money' },
    ],
    [
      'Terminal value (Gordon)',
      { f: `${last}${L.fcf + 1}*(1+${I['g']})/(${I['r']}-${I['g']})`, v: res.terminalValue, s: 'money' },
    ],
  ];
  const vr = rows.length; // row of the first valuation line
  valuation.push(
    [
      'PV of terminal value',
      { f: `C${vr + 3}/(1+${I['r']})^${I['years']}`, v: res.pvOfTerminalValue, s: 'money' },
    ],
    ['Enterprise value', { f: `C${vr + 2}+C${vr + 4}`, v: res.enterpriseValue, s: 'moneyBold' }],
    ['Net debt', { f: I['netDebt']!, v: res.netDebt, s: 'money' }],
    ['Equity value', { f: `C${vr + 5}-C${vr + 6}`, v: res.equityValue, s: 'moneyBold' }],
  );
  if (res.valuePerShare !== null) {
    valuation.push(
      ['Shares outstanding', { f: I['shares']!, v: res.sharesOutstanding!, s: 'number' }],
      ['Value per share', { f: `C${vr + 7}/C${vr + 8}`, v: res.valuePerShare, s: 'moneyBold' }],
    );
  }
  for (const [label, cell] of valuation) rows.push([{ v: label, s: 'label' }, undefined, cell]);
  const ref = (row: number) => `${sheetRef(sheetName)}!$C$${row}`;
  return {
    sheet: {
      name: sheetName,
      rows,
      cols: [30, ...Array.from({ length: n + 1 }, () => 15)],
      freeze: { rows: 4, cols: 1 },
    },
    refs: {
      fcf: `${sheetRef(sheetName)}!$${first}$${L.fcf + 1}:$${last}$${L.fcf + 1}`,
      years: `${sheetRef(sheetName)}!$${first}$${L.year + 1}:$${last}$${L.year + 1}`,
      pvFcf: ref(vr + 2),
      tv: ref(vr + 3),
      pvTv: ref(vr + 4),
      ev: ref(vr + 5),
      equity: ref(vr + 7),
      perShare: ref(vr + 9),
    },
  };
}

function summarySheet(
  res: FinanceResult,
  names: Record<'inputs' | 'dcf' | 'loan' | 'summary', string>,
  dcf: DcfRefs,
  loan: { payment: string; totalInterest: string } | undefined,
  formatting: Formatting,
): SheetSpec {
  const rows: Row[] = [...headerRows(formatting, 'Summary', 8), []];
  const line = (label: string, f: string, v: number, s: StyleName = 'money') =>
    rows.push([
      { v: label, s: 'label' },
      { f, v, s },
    ]);
  line('Enterprise value', dcf.ev, res.enterpriseValue, 'moneyBold');
  line('Equity value', dcf.equity, res.equityValue, 'moneyBold');
  if (res.valuePerShare !== null) line('Value per share', dcf.perShare, res.valuePerShare);
  line('PV of free cash flows', dcf.pvFcf, res.pvOfCashFlows);
  line('PV of terminal value', dcf.pvTv, res.pvOfTerminalValue);
  line(
    'Terminal value share of EV',
    `${dcf.pvTv}/${dcf.ev}`,
    res.pvOfTerminalValue / res.enterpriseValue,
    'percent',
  );
  if (loan && res.loan) {
    line('Loan monthly payment', loan.payment, res.loan.payment);
    line('Loan total interest', loan.totalInterest, res.loan.totalInterest);
  }
  rows.push([], [{ v: 'Checks (blank when fine; they follow edits to the inputs)', s: 'bold' }]);
  for (const check of financeChecks(res, dcf)) rows.push([check]);
  // Input warnings (a rate typed as percent) are about the job's inputs, so they are values.
  rows.push(...warningRows(res.warnings.filter((w) => w.path !== undefined)));
  rows.push(
    [],
    [{ v: `Figures link to the ${names.dcf} sheet; the chart shows free cash flow by year.`, s: 'note' }],
  );
  const top = rows.length + 1;
  return {
    name: names.summary,
    rows,
    cols: [30, 18],
    images: logoImages(formatting, 7),
    charts: [
      {
        kind: 'column',
        title: 'Free cash flow by year',
        categoriesRef: dcf.years,
        categories: res.years.map((y) => y.year),
        series: [{ name: 'Free cash flow', ref: dcf.fcf, values: res.years.map((y) => y.freeCashFlow) }],
        from: { col: 0, row: top },
        to: { col: 8, row: top + 18 },
      },
    ],
  };
}

/**
 * The terminal value warnings of `valuationWarnings` as formulas: each shows its text while its
 * condition holds, so the Summary stays true when an input is edited. Cached values are the model's.
 */
function financeChecks(res: FinanceResult, dcf: DcfRefs): Cell[] {
  const has = (code: string) => res.warnings.some((w) => w.code === code);
  const check = (code: string, condition: string, text: string): Cell => ({
    f: `IF(${condition},"${text}","")`,
    v: has(code) ? text : '',
    s: 'note',
  });
  return [
    check(
      'terminal_value_share_high',
      // IF, not AND: AND would evaluate the share even when EV is 0.
      `IF(${dcf.ev}>0,${dcf.pvTv}>${TERMINAL_SHARE_WARNING}*${dcf.ev},FALSE)`,
      `Warning: the terminal value is over ${TERMINAL_SHARE_WARNING * 100} % of enterprise value; the valuation rests on terminal growth and the discount rate.`,
    ),
    check(
      'terminal_cash_flow_negative',
      `${dcf.tv}<0`,
      'Warning: the last free cash flow is negative, so the terminal value carries a loss forever.',
    ),
    check('enterprise_value_not_positive', `${dcf.ev}<=0`, 'Warning: the enterprise value is not positive.'),
  ];
}

function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
