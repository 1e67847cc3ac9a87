import { type Check, isNear, isNearZero, near, nearZero } from '../xlsx/checks.ts';
import type { FinanceResult } from './run.ts';
import { MAX_TERM_MONTHS, MAX_YEARS } from './schema.ts';
import { type DcfRefs, sum } from './workbook-dcf.ts';

export interface LoanRefs {
  payments: string;
  interest: string;
  principal: string;
  closing: string;
}

/** The finance model's identities as live checks (see `checksSheet`), each with its value for this run. */
export function financeChecks(
  res: FinanceResult,
  I: Record<string, string>,
  dcf: DcfRefs,
  loanRefs: LoanRefs | undefined,
  growthPerYear = false,
): Check[] {
  const y = res.years;
  const pvSum = sum(y.map((x) => x.presentValue));
  const whole = (ref: string, max: number) => `AND(${ref}>=1,${ref}<=${max},${ref}=INT(${ref}))`;
  const checks: Check[] = [
    {
      label: 'Sum of discounted free cash flows + PV of terminal value = enterprise value',
      formula: near(`SUM(${dcf.pvRow})+${dcf.pvTv}`, dcf.ev, `SUM(${dcf.pvRow})`, dcf.pvTv),
      ok: isNear(pvSum + res.pvOfTerminalValue, res.enterpriseValue, pvSum, res.pvOfTerminalValue),
    },
    {
      label: 'PV of free cash flows (NPV) = sum of the discounted free cash flows',
      // The largest discounted flow: flows of both signs can sum to near 0, leaving their rounding dust.
      formula: near(dcf.pvFcf, `SUM(${dcf.pvRow})`, `MAX(${dcf.pvRow})`, `MIN(${dcf.pvRow})`),
      ok: isNear(res.pvOfCashFlows, pvSum, ...extremes(y.map((x) => x.presentValue))),
    },
    {
      label: 'Free cash flow = NOPAT + D&A − capex − change in NWC (all years)',
      formula: near(
        `SUM(${dcf.fcfRow})`,
        `SUM(${dcf.nopatRow})+SUM(${dcf.daRow})-SUM(${dcf.capexRow})-SUM(${dcf.dnwcRow})`,
        // Every line is a share of revenue: the largest revenue bounds the terms that may cancel.
        `MAX(${dcf.revenueRow})`,
        `SUM(${dcf.nopatRow})`,
        `SUM(${dcf.capexRow})`,
      ),
      ok: isNear(
        sum(y.map((x) => x.freeCashFlow)),
        sum(y.map((x) => x.nopat)) +
          sum(y.map((x) => x.depreciation)) -
          sum(y.map((x) => x.capex)) -
          sum(y.map((x) => x.changeInNwc)),
        Math.max(0, ...y.map((x) => x.revenue)),
        sum(y.map((x) => x.nopat)),
        sum(y.map((x) => x.capex)),
      ),
    },
    {
      label: 'Sensitivity table of the chosen terminal method at the inputs = enterprise value',
      formula: near(
        `IF(${I['terminalMethod']}="exitMultiple",${dcf.sensitivity.exitMultiple},${dcf.sensitivity.gordon})`,
        dcf.ev,
        dcf.pvFcf,
        dcf.pvTv,
      ),
      ok: isNear(
        (res.terminalMethod === 'exitMultiple' ? res.sensitivity.exitMultiple : res.sensitivity.gordon)
          .ev[2]![2] ?? Number.NaN,
        res.enterpriseValue,
        res.pvOfCashFlows,
        res.pvOfTerminalValue,
      ),
    },
    {
      label: 'Equity value = enterprise value − net debt',
      formula: near(dcf.equity, `${dcf.ev}-${dcf.netDebt}`, dcf.ev, dcf.netDebt),
      ok: isNear(res.equityValue, res.enterpriseValue - res.netDebt, res.enterpriseValue, res.netDebt),
    },
    {
      label: `Projection years is a whole number from 1 to ${MAX_YEARS} (the DCF sheet's columns)`,
      formula: whole(I['years']!, MAX_YEARS),
      ok: true,
    },
  ];
  // Per-year growth: the API refuses a list that is not one rate per projected year, but a workbook whose
  // Projection years is raised past the rates typed would grow the extra years at 0 (a blank cell). Excel's
  // validation cannot hold it (a cleared growth cell is never validated), so it is a check.
  if (growthPerYear)
    checks.push({
      label: 'Revenue growth is given for every projected year (the DCF sheet, one rate per year)',
      formula: `COUNTIFS(${dcf.onRow},1,${dcf.growthRow},"<>")=${I['years']}`,
      ok: true,
    });
  const loan = res.loan;
  if (loan && loanRefs) {
    const rows = loan.rows;
    checks.push(
      {
        label: 'Loan closes at zero: the closing balance at the end of the term is 0',
        formula: nearZero(`INDEX(${loanRefs.closing},${I['term']})`, I['principal']!),
        ok: isNearZero(rows[rows.length - 1]?.closing ?? 0, rows[0]?.opening ?? 0),
      },
      {
        label: 'Loan principal repayments add up to the principal',
        formula: near(`SUM(${loanRefs.principal})`, I['principal']!),
        ok: isNear(sum(rows.map((r) => r.principal)), rows[0]?.opening ?? 0),
      },
      {
        label: 'Loan payments = interest + principal repayments',
        formula: near(`SUM(${loanRefs.payments})`, `SUM(${loanRefs.interest})+SUM(${loanRefs.principal})`),
        ok: isNear(
          sum(rows.map((r) => r.payment)),
          sum(rows.map((r) => r.interest)) + sum(rows.map((r) => r.principal)),
        ),
      },
      {
        label: `Loan term is a whole number of months from 1 to ${MAX_TERM_MONTHS} (the Loan sheet's rows)`,
        formula: whole(I['term']!, MAX_TERM_MONTHS),
        ok: true,
      },
    );
  }
  return checks;
}

/** The smallest and largest of `xs` (0 and 0 when empty): what `MIN` and `MAX` of their cells give. */
function extremes(xs: number[]): [number, number] {
  return xs.length === 0 ? [0, 0] : [Math.min(...xs), Math.max(...xs)];
}
