import type { Formatting } from '../../core/tenant.ts';
import { excelSerial, FIRST_PORTABLE_DATE, FIRST_PORTABLE_SERIAL } from '../finmath.ts';
import type { JsonSchema, Provenance } from '../types.ts';
import type { Cell, Row, SheetSpec, StyleName, WorkbookSpec } from '../xlsx/cells.ts';
import { checksSheet } from '../xlsx/checks.ts';
import { workbookProperties } from '../xlsx/doc-props.ts';
import {
  headerRows,
  type InputRow,
  inputsSheetRows,
  logoImages,
  schemaInput,
  sheetNamer,
  TENANT_FIXED_NOTE,
  warningRows,
} from '../xlsx/layout.ts';
import { formattingForCurrency } from '../xlsx/styles.ts';
import { type Accepts, acceptsEnum, acceptsField, fixedByTenant, local } from '../xlsx/validation.ts';
import { writeXlsx } from '../xlsx/writer.ts';
import { type FinanceResult, MIN_TERMINAL_SPREAD, TERMINAL_SHARE_WARNING } from './run.ts';
import { type FinanceInput, financeSchema, MAX_TERM_MONTHS, MAX_YEARS } from './schema.ts';
import { financeChecks } from './workbook-checks.ts';
import { type DcfRefs, dcfSheet } from './workbook-dcf.ts';
import { loanSheet } from './workbook-loan.ts';

/** The workbook's sheets by their default names, which a tenant's `formatting.sheetNames` may rename. */
export const FINANCE_SHEETS = ['Inputs', 'DCF', 'Loan', 'Summary', 'Checks'] as const;

const TITLE = 'Company projection and valuation';

/** The Gordon spread `checkFinance` requires, as a condition on the discount rate and terminal growth cells. */
const gordonSpread = (r: string, g: string, method: string) => ({
  formula: `OR(${method}="exitMultiple",${r}-${g}>=${MIN_TERMINAL_SPREAD - 1e-12})`,
  message: `Under gordon, the discount rate must exceed terminal growth by at least ${MIN_TERMINAL_SPREAD * 100} percentage points.`,
});

/**
 * The terminal method cell: one of the schema's methods, and the Gordon spread when it is `gordon`. Excel
 * checks a validation only on the cell typed into, so each cell the spread reads (discount rate, terminal
 * growth, method) carries it, and the method cell so loses the list's drop-down: switching an exit-multiple
 * workbook whose rates are 0.2 points apart to gordon is refused, as the API refuses that input.
 */
function acceptsMethod(schema: JsonSchema): Accepts {
  const list = acceptsEnum(schema, 'terminalMethod', 'gordon or exitMultiple');
  if (typeof list === 'function' || list.kind !== 'list') throw new Error('terminalMethod is an enum');
  return (m, I) => {
    const spread = gordonSpread(local(I['r']!), local(I['g']!), m);
    // EXACT: a list validation matches case, Excel's = does not ("GORDON" is no method to the API).
    const oneOf = list.values.map((v) => `EXACT(${m},"${v}")`).join(',');
    return {
      kind: 'custom',
      formula: `AND(OR(${oneOf}),${spread.formula})`,
      message: `${list.values.join(' or ')}. ${spread.message}`,
    };
  };
}

/**
 * The last payment `EDATE(start, term)` on or before 9999-12-31, the drawdown from 1900-03-01 (serial 61):
 * `checkFinance`'s date rules, with the Loan sheet's own date formula.
 */
const loanDates = (start: string, term: string) => ({
  formula: `AND(${start}>=${FIRST_PORTABLE_SERIAL},${start}=INT(${start}),MIN(DATE(YEAR(${start}),MONTH(${start})+${term},DAY(${start})),EOMONTH(${start},${term}))<=${LAST_SERIAL})`,
  message: `The drawdown date must be on or after ${FIRST_PORTABLE_DATE}, and the last monthly payment on or before 9999-12-31.`,
});
const LAST_SERIAL = 2958465;

/**
 * The finance workbook as a spec: Inputs, DCF, optional Loan, Summary with the FCF chart, Checks. Every
 * blue input recomputes the whole workbook when edited within its schema range: the DCF holds 30 years
 * and the Loan 600 months, driven by flags. The currency is fixed (the number formats are written for it).
 */
export function financeWorkbookSpec(
  result: FinanceResult,
  input: FinanceInput,
  formatting: Formatting,
  provenance?: Provenance,
  schema: JsonSchema = financeSchema,
): WorkbookSpec {
  /** Excel data validation for a numeric input: its range in the tenant's schema (`acceptsField`). */
  const accepts = (path: string, opts?: Parameters<typeof acceptsField>[2]) =>
    acceptsField(schema, path, opts);
  /** An input row of field `path`: validated by the tenant's schema, or locked when its rules fix the field. */
  const field = (path: string, row: Omit<InputRow, 'accepts'>, a: () => Accepts) =>
    schemaInput(schema, path, row, a);
  const name = sheetNamer(formatting);
  const names = {
    inputs: name('Inputs'),
    dcf: name('DCF'),
    loan: name('Loan'),
    summary: name('Summary'),
    checks: name('Checks'),
  };
  const growthArray = Array.isArray(input.revenueGrowth);
  const inputs: InputRow[] = [
    { key: 'currency', label: 'Currency', value: input.currency, style: 'fixed' },
    field(
      'startYear',
      {
        key: 'startYear',
        label: 'First projected year',
        value: input.startYear,
        style: 'integerInput',
      },
      () => accepts('startYear'),
    ),
    // Per-year growth the tenant's rules fix holds one rate per year, so it fixes the number of years too: the
    // API refuses any other (checkFinance), and the DCF's growth cells past them are locked blanks.
    growthArray && fixedByTenant(schema, 'revenueGrowth') && !fixedByTenant(schema, 'years')
      ? {
          key: 'years',
          label: 'Projection years',
          value: input.years,
          style: 'integer',
          unit: `years: one per revenue growth rate; ${TENANT_FIXED_NOTE} (revenue growth)`,
        }
      : field(
          'years',
          {
            key: 'years',
            label: 'Projection years',
            value: input.years,
            style: 'integerInput',
            unit: `years (1 to ${MAX_YEARS})`,
          },
          () => accepts('years'),
        ),
    field(
      'revenue',
      {
        key: 'revenue',
        label: 'Base-year revenue',
        value: input.revenue,
        style: 'moneyInput',
        unit: input.currency,
      },
      () => accepts('revenue'),
    ),
    growthArray
      ? { key: 'revenueGrowth', label: 'Revenue growth', value: 'per year, on the DCF sheet', style: 'note' }
      : field(
          'revenueGrowth',
          {
            key: 'revenueGrowth',
            label: 'Revenue growth',
            value: input.revenueGrowth as number,
            style: 'percentInput',
          },
          () => accepts('revenueGrowth'),
        ),
    field(
      'ebitdaMargin',
      {
        key: 'ebitdaMargin',
        label: 'EBITDA margin',
        value: input.ebitdaMargin,
        style: 'percentInput',
      },
      () => accepts('ebitdaMargin'),
    ),
    field(
      'depreciationPctRevenue',
      {
        key: 'dep',
        label: 'D&A, % of revenue',
        value: input.depreciationPctRevenue,
        style: 'percentInput',
      },
      () => accepts('depreciationPctRevenue'),
    ),
    field(
      'capexPctRevenue',
      {
        key: 'capex',
        label: 'Capex, % of revenue',
        value: input.capexPctRevenue,
        style: 'percentInput',
      },
      () => accepts('capexPctRevenue'),
    ),
    field(
      'nwcPctRevenue',
      {
        key: 'nwc',
        label: 'Net working capital, % of revenue',
        value: input.nwcPctRevenue,
        style: 'percentInput',
      },
      () => accepts('nwcPctRevenue'),
    ),
    field(
      'taxRate',
      {
        key: 'tax',
        label: 'Tax rate',
        value: input.taxRate,
        style: 'percentInput',
      },
      () => accepts('taxRate'),
    ),
    field(
      'discountRate',
      {
        key: 'r',
        label: 'Discount rate (WACC)',
        value: input.discountRate,
        style: 'percentInput',
      },
      () =>
        accepts('discountRate', {
          also: (r, I) => gordonSpread(r, local(I['g']!), local(I['terminalMethod']!)),
        }),
    ),
    field(
      'terminalGrowth',
      {
        key: 'g',
        label: 'Terminal growth',
        value: input.terminalGrowth,
        style: 'percentInput',
      },
      () =>
        accepts('terminalGrowth', {
          also: (g, I) => gordonSpread(local(I['r']!), g, local(I['terminalMethod']!)),
        }),
    ),
    field(
      'terminalMethod',
      {
        key: 'terminalMethod',
        label: 'Terminal value method',
        value: input.terminalMethod,
        style: 'textInput',
        unit: 'gordon or exitMultiple',
      },
      () => acceptsMethod(schema),
    ),
    field(
      'exitMultiple',
      {
        key: 'exitMultiple',
        label: 'Exit multiple (EV/EBITDA)',
        value: input.exitMultiple,
        style: 'numberInput',
        unit: 'times last projected EBITDA',
      },
      () => accepts('exitMultiple'),
    ),
    field(
      'discounting',
      {
        key: 'discounting',
        label: 'Discounting',
        value: input.discounting,
        style: 'textInput',
      },
      () => acceptsEnum(schema, 'discounting', 'end-year or mid-year'),
    ),
    {
      key: 'offset',
      label: 'Timing offset (computed)',
      value: result.timingOffset,
      style: 'number',
      unit: 'years earlier than end-year',
      formula: (r) => `IF(${r['discounting']}="mid-year",0.5,0)`,
    },
    field(
      'netDebt',
      {
        key: 'netDebt',
        label: 'Net debt',
        value: result.netDebt,
        style: 'moneyInput',
        unit: input.currency,
      },
      () => accepts('netDebt'),
    ),
  ];
  if (input.sharesOutstanding) {
    inputs.push(
      field(
        'sharesOutstanding',
        {
          key: 'shares',
          label: 'Shares outstanding',
          value: input.sharesOutstanding,
          style: 'numberInput',
        },
        () => accepts('sharesOutstanding'),
      ),
    );
  }
  if (input.loan) {
    inputs.push(
      field(
        'loan.principal',
        {
          key: 'principal',
          label: 'Loan principal',
          value: input.loan.principal,
          style: 'moneyInput',
          unit: input.currency,
        },
        () => accepts('loan.principal'),
      ),
      field(
        'loan.annualRate',
        {
          key: 'loanRate',
          label: 'Loan annual rate',
          value: input.loan.annualRate,
          style: 'percentInput',
        },
        () => accepts('loan.annualRate'),
      ),
      field(
        'loan.termMonths',
        {
          key: 'term',
          label: 'Loan term',
          value: input.loan.termMonths,
          style: 'integerInput',
          unit: `months (1 to ${MAX_TERM_MONTHS})`,
        },
        () => accepts('loan.termMonths', { also: (term, I) => loanDates(local(I['loanStart']!), term) }),
      ),
      field(
        'loan.startDate',
        {
          key: 'loanStart',
          label: 'Loan drawdown date',
          value: excelSerial(input.loan.startDate),
          style: 'dateInput',
        },
        () => (start, I) => {
          const { formula, message } = loanDates(start, local(I['term']!));
          return { kind: 'custom', formula: `AND(ISNUMBER(${start}),${formula})`, message };
        },
      ),
    );
  }
  const inputsSheet = inputsSheetRows(names.inputs, formatting, 'Inputs', inputs);
  const I = inputsSheet.refs;
  const dcf = dcfSheet(result, I, names.dcf, formatting, input, schema);
  const sheets: SheetSpec[] = [
    {
      name: names.inputs,
      rows: inputsSheet.rows,
      cols: [36, 16, 40],
      images: logoImages(formatting, 2),
      protect: true,
      validations: inputsSheet.validations,
    },
    dcf.sheet,
  ];
  const loan = result.loan ? loanSheet(result, I, names.loan, formatting) : undefined;
  if (loan) sheets.push(loan.sheet);
  const checks = checksSheet(
    names.checks,
    formatting,
    financeChecks(result, I, dcf.refs, loan?.refs, growthArray),
  );
  sheets.push(summarySheet(result, names, I, dcf.refs, loan?.refs, checks, formatting), checks.sheet);
  return {
    sheets,
    properties: workbookProperties(TITLE, provenance),
  };
}

/**
 * The finance workbook's xlsx bytes. `schema` is the input schema as the tenant's rules shape it
 * (`schemaForTenant`; the model's own by default): every input cell validates by it, and a field the rules fix
 * is a locked cell, so the workbook takes no value the tenant's own submit would refuse.
 */
export function financeWorkbook(
  result: FinanceResult,
  input: FinanceInput,
  formatting: Formatting,
  provenance?: Provenance,
  schema: JsonSchema = financeSchema,
): Uint8Array {
  const jobFormatting = formattingForCurrency(formatting, input.currency);
  return writeXlsx(financeWorkbookSpec(result, input, jobFormatting, provenance, schema), jobFormatting);
}

function summarySheet(
  res: FinanceResult,
  names: Record<'inputs' | 'dcf' | 'loan' | 'summary' | 'checks', string>,
  I: Record<string, string>,
  dcf: DcfRefs,
  loan: { payment: string; totalInterest: string } | undefined,
  checks: { overall: string; ok: boolean },
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
  rows.push([
    { v: 'Terminal value method', s: 'label' },
    { f: I['terminalMethod']!, v: res.terminalMethod, s: 'default' },
  ]);
  // A share of a value that is 0 or negative means nothing (0 / 0 was an empty cell and #DIV/0! when
  // recalculated, e.g. with revenue 0); the same condition as the terminal_value_share_high warning.
  const ev = res.enterpriseValue;
  rows.push([
    { v: 'Terminal value share of EV', s: 'label' },
    ev > 0
      ? { f: `IF(${dcf.ev}>0,${dcf.pvTv}/${dcf.ev},"n/a")`, v: res.pvOfTerminalValue / ev, s: 'percent' }
      : { f: `IF(${dcf.ev}>0,${dcf.pvTv}/${dcf.ev},"n/a")`, v: 'n/a', s: 'percent' },
  ]);
  if (loan && res.loan) {
    line('Loan monthly payment', loan.payment, res.loan.payment);
    line('Loan total interest', loan.totalInterest, res.loan.totalInterest);
  }
  if (res.impliedExitMultiple !== null) {
    line('Implied exit multiple (EV/EBITDA)', dcf.impliedMultiple, res.impliedExitMultiple, 'number');
  }
  if (res.impliedTerminalGrowth !== null) {
    line('Implied perpetual growth', dcf.impliedGrowth, res.impliedTerminalGrowth, 'percent');
  }
  rows.push([
    { v: `Model checks pass (see ${names.checks})`, s: 'label' },
    { f: checks.overall, v: checks.ok, s: 'bold' },
  ]);
  rows.push([], [{ v: 'Warnings (blank when fine; they follow edits to the inputs)', s: 'bold' }]);
  for (const check of valuationChecks(res, dcf)) rows.push([check]);
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
        // The refs span every column the DCF holds; hidden years are left out of the chart (plotVisOnly).
        categories: Array.from({ length: MAX_YEARS }, (_, i) => res.baseYear.year + i + 1),
        series: [
          {
            name: 'Free cash flow',
            ref: dcf.fcf,
            values: Array.from({ length: MAX_YEARS }, (_, i) => res.years[i]?.freeCashFlow ?? 0),
          },
        ],
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
function valuationChecks(res: FinanceResult, dcf: DcfRefs): Cell[] {
  const has = (code: string) => res.warnings.some((w) => w.code === code);
  const check = (code: string, condition: string, text: string): Cell => ({
    f: `IF(${condition},"${text}","")`,
    v: has(code) ? text : '',
    s: 'note',
  });
  return [
    check(
      'terminal_value_share_high',
      // IF, not AND: AND would evaluate the share even when EV is 0. FALSE() rather than the bare FALSE,
      // which HyperFormula reads as an unknown name (#NAME?) whenever EV is not positive.
      `IF(${dcf.ev}>0,${dcf.pvTv}>${TERMINAL_SHARE_WARNING}*${dcf.ev},FALSE())`,
      `Warning: the terminal value is over ${TERMINAL_SHARE_WARNING * 100} % of enterprise value; the valuation rests on the terminal assumptions and the discount rate.`,
    ),
    check(
      'terminal_cash_flow_negative',
      `${dcf.tv}<0`,
      'Warning: the terminal value is negative: the last free cash flow (Gordon) or EBITDA (exit multiple) is negative.',
    ),
    check('enterprise_value_not_positive', `${dcf.ev}<=0`, 'Warning: the enterprise value is not positive.'),
    check(
      'equity_value_not_positive',
      `IF(${dcf.ev}>0,${dcf.equity}<=0,FALSE())`,
      'Warning: net debt is at least the enterprise value: equity value and value per share are not positive.',
    ),
  ];
}
