import type { Formatting } from '../../core/tenant.ts';
import type { JsonSchema, Provenance } from '../types.ts';
import type { Cell, Row, SheetSpec, StyleName, WorkbookSpec } from '../xlsx/cells.ts';
import { checksSheet } from '../xlsx/checks.ts';
import { workbookProperties } from '../xlsx/doc-props.ts';
import { headerRows, inputsSheetRows, logoImages, sheetNamer, warningRows } from '../xlsx/layout.ts';
import { formattingForCurrency } from '../xlsx/styles.ts';
import { writeXlsx } from '../xlsx/writer.ts';
import { type FinanceResult, TERMINAL_SHARE_WARNING } from './run.ts';
import { type FinanceInput, financeSchema, MAX_YEARS } from './schema.ts';
import { financeChecks } from './workbook-checks.ts';
import { type DcfRefs, dcfSheet } from './workbook-dcf.ts';
import { financeInputRows } from './workbook-inputs.ts';
import { loanSheet } from './workbook-loan.ts';

/** The workbook's sheets by their default names, which a tenant's `formatting.sheetNames` may rename. */
export const FINANCE_SHEETS = ['Inputs', 'DCF', 'Loan', 'Summary', 'Checks'] as const;

const TITLE = 'Company projection and valuation';

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
  const name = sheetNamer(formatting);
  const names = {
    inputs: name('Inputs'),
    dcf: name('DCF'),
    loan: name('Loan'),
    summary: name('Summary'),
    checks: name('Checks'),
  };
  const inputsSheet = inputsSheetRows(
    names.inputs,
    formatting,
    'Inputs',
    financeInputRows(result, input, schema),
  );
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
    financeChecks(result, I, dcf.refs, loan?.refs, Array.isArray(input.revenueGrowth)),
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
  // Always shown, linked to the DCF's live cross-checks: a line left out where the model had no value stayed
  // out after an edit gave it one.
  rows.push(
    [
      { v: 'Implied exit multiple (EV/EBITDA)', s: 'label' },
      { f: dcf.impliedMultiple, v: res.impliedExitMultiple ?? 'n/a', s: 'number' },
    ],
    [
      { v: 'Implied perpetual growth', s: 'label' },
      { f: dcf.impliedGrowth, v: res.impliedTerminalGrowth ?? 'n/a', s: 'percent' },
    ],
  );
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
