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
    ],
    [
      { v: 'Monthly payment (PMT)', s: 'label' },
      { f: `-PMT(B4,${I['term']},${I['principal']})`, v: loan.payment, s: 'moneyBold' },
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

/** `loanSchedule`'s closed-form balance after `month` payments, operation for operation. */
function closingBalance(principal: string, term: string, month: string): string {
  const q = '(1+$B$4)';
  return `IF($B$4=0,${principal}*(${term}-${month})/${term},${principal}*${q}^${month}*(${q}^(${term}-${month})-1)/(${q}^${term}-1))`;
}

/**
 * EDATE spelled as MIN(DATE(…), EOMONTH(…)): same result in Excel, and HyperFormula 3.5 (our test
 * engine) gets EDATE wrong into a leap February (2025-01-31 + 37 months gives Feb 28, not 29).
 */
function monthsAfter(start: string, months: string): string {
  return `MIN(DATE(YEAR(${start}),MONTH(${start})+${months},DAY(${start})),EOMONTH(${start},${months}))`;
}
