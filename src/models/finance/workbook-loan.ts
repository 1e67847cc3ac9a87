import type { Formatting } from '../../core/tenant.ts';
import { type Row, type SheetSpec, sheetRef } from '../xlsx/cells.ts';
import { headerRows } from '../xlsx/layout.ts';
import type { FinanceResult } from './run.ts';
import { MAX_TERM_MONTHS } from './schema.ts';

/**
 * The Loan sheet: PMT, then one row per month with the closed-form balance of `loanSchedule`, for every
 * month the schema allows (600): a flag column marks the months within the term, so an edited term
 * schedules exactly that many months and closes at 0. Rows past this run's term are hidden.
 */
export function loanSheet(
  res: FinanceResult,
  I: Record<string, string>,
  sheetName: string,
  formatting: Formatting,
) {
  const loan = res.loan!;
  const rows: Row[] = [...headerRows(formatting, 'Loan schedule', 7), []];
  rows.push(
    [
      { v: 'Monthly rate', s: 'label' },
      { f: `${I['loanRate']}/12`, v: loan.monthlyRate, s: 'factor' },
      { v: 'ln(1 + monthly rate)', s: 'label' },
      { f: LOG1P_RATE, v: loan.logGrowth, s: 'factor' },
    ],
    [
      { v: 'Monthly payment (PMT)', s: 'label' },
      // Excel's PMT, P·r·(1 + r)^n / ((1 + r)^n − 1), from D4 and D5: PMT itself spells (1 + r)^n − 1 literally
      // (HyperFormula, and Excel by its documented formula), wrong in the 8th digit at 1e-9 a year and #NUM! at 1e-15.
      {
        f: `IF(B4=0,${I['principal']}/${I['term']},${I['principal']}*B4*EXP(${I['term']}*$D$4)/$D$5)`,
        v: loan.payment,
        s: 'moneyBold',
      },
      { v: '(1 + monthly rate)^term − 1', s: 'label' },
      { f: expm1(`${I['term']}*$D$4`), v: loan.growthToEnd, s: 'factor' },
    ],
  );
  const firstRow = 9; // 1-based row of month 1
  const M = MAX_TERM_MONTHS;
  const n = loan.rows.length;
  const lastRow = firstRow + M - 1;
  rows.push([
    { v: 'Total interest', s: 'label' },
    { f: `SUM(E${firstRow}:E${lastRow})`, v: loan.totalInterest, s: 'money' },
  ]);
  rows.push([
    {
      v: `Rows for up to ${M} months are kept (those past this run's ${n} hidden) so that the term can change on the Inputs sheet; the flag column marks the months in the term.`,
      s: 'note',
    },
  ]);
  rows.push(
    [
      'Month',
      'Date',
      'Opening balance',
      'Payment',
      'Interest',
      'Principal',
      'Closing balance',
      'In term (flag)',
    ].map((v) => ({ v, s: 'colHeader' as const })),
  );
  for (let i = 0; i < M; i++) {
    const r = firstRow + i;
    // Past the term every flow is 0: the closing balance at the term is exactly 0, and so is each opening after.
    const p = loan.rows[i] ?? {
      month: i + 1,
      date: '',
      opening: 0,
      payment: 0,
      interest: 0,
      principal: 0,
      closing: 0,
    };
    rows.push([
      { v: p.month, s: 'integer' },
      { f: `IF(H${r}=1,${monthsAfter(I['loanStart']!, `A${r}`)},"")`, v: p.date, s: 'date' },
      i === 0
        ? { f: I['principal']!, v: p.opening, s: 'money' }
        : { f: `G${r - 1}`, v: p.opening, s: 'money' },
      { f: `E${r}+F${r}`, v: p.payment, s: 'money' },
      { f: `C${r}*$B$4`, v: p.interest, s: 'money' },
      { f: `C${r}-G${r}`, v: p.principal, s: 'money' },
      {
        f: `IF(H${r}=1,${closingBalance(I['principal']!, I['term']!, `A${r}`)},0)`,
        v: p.closing,
        s: 'money',
      },
      { f: `IF(A${r}<=${I['term']},1,0)`, v: i < n ? 1 : 0, s: 'integer' },
    ]);
  }
  const range = (col: string) => `${sheetRef(sheetName)}!$${col}$${firstRow}:$${col}$${lastRow}`;
  return {
    sheet: {
      name: sheetName,
      rows,
      cols: [24, 12, 18, 16, 16, 16, 18, 14],
      freeze: { rows: 8, cols: 0 },
      ...(n < M ? { hiddenRows: { from: firstRow - 1 + n, to: lastRow - 1 } } : {}),
    } as SheetSpec,
    refs: {
      payment: `${sheetRef(sheetName)}!$B$5`,
      totalInterest: `${sheetRef(sheetName)}!$B$6`,
      payments: range('D'),
      interest: range('E'),
      principal: range('F'),
      closing: range('G'),
    },
  };
}

/**
 * Below this size log1p(x) and expm1(x) are their two-term series to a relative 1e-20. The spreadsheet forms
 * below need it: LibreOffice and HyperFormula snap a difference of nearly equal numbers to 0. The squares are
 * products: LibreOffice's ^ answers #NUM! where the square underflows.
 */
const SERIES_BELOW = '0.0000000001';

/**
 * ln(1 + r) of the monthly rate (B4) without losing the digits 1 + r rounds away: Goldberg's correction
 * ln(1 + r) · r / ((1 + r) − 1) ("What every computer scientist should know about floating-point
 * arithmetic", theorem 4); Excel has no LOG1P.
 */
const LOG1P_RATE = `IF(ABS($B$4)<${SERIES_BELOW},$B$4-$B$4*$B$4/2,LN(1+$B$4)*$B$4/((1+$B$4)-1))`;

/** e^x − 1 without cancellation: Kahan's (e^x − 1) · x / ln(e^x); Excel has no EXPM1. */
function expm1(x: string): string {
  return `IF(ABS(${x})<${SERIES_BELOW},${x}+(${x})*(${x})/2,(EXP(${x})-1)*(${x})/LN(EXP(${x})))`;
}

/**
 * `loanSchedule`'s closed-form balance after `month` payments, P·e^(mL)·expm1((n − m)L)/expm1(nL) with
 * L = ln(1 + r) in D4 and expm1(nL) in D5. The literal ((1 + r)^(n − m) − 1)/((1 + r)^n − 1) kept only the
 * digits 1 + r rounds to: at an annual rate of 1e-9 every month's principal was wrong in the 8th digit, and
 * under about 1.3e-15 (1 + r = 1) every balance was #DIV/0!.
 */
function closingBalance(principal: string, term: string, month: string): string {
  return `IF($B$4=0,${principal}*(${term}-${month})/${term},${principal}*EXP(${month}*$D$4)*${expm1(`(${term}-${month})*$D$4`)}/$D$5)`;
}

/**
 * EDATE spelled as MIN(DATE(…), EOMONTH(…)): same result in Excel, and HyperFormula 3.5 (our test
 * engine) gets EDATE wrong into a leap February (2025-01-31 + 37 months gives Feb 28, not 29).
 */
function monthsAfter(start: string, months: string): string {
  return `MIN(DATE(YEAR(${start}),MONTH(${start})+${months},DAY(${start})),EOMONTH(${start},${months}))`;
}
