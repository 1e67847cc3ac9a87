import { edate, excelSerial, pmt } from '../finmath.ts';
import type { LoanInput } from './schema.ts';

export interface LoanPayment {
  month: number;
  /** Excel serial date of the payment. */
  date: number;
  opening: number;
  payment: number;
  interest: number;
  principal: number;
  closing: number;
}

export interface LoanSchedule {
  monthlyRate: number;
  /** ln(1 + monthlyRate) and (1 + monthlyRate)^termMonths − 1, the closed form's parts (the Loan sheet's D4, D5). */
  logGrowth: number;
  growthToEnd: number;
  payment: number;
  totalInterest: number;
  rows: LoanPayment[];
}

/**
 * Monthly annuity schedule (`FinanceResult.loan`): amounts in the job's currency, `annualRate` a fraction a
 * year, dates Excel serials; the payment is `-PMT(annualRate/12, termMonths, principal)`.
 * Each closing balance is computed in closed form, P·q^m·(q^(n−m) − 1)/(q^n − 1) with q = 1 + rate,
 * not by subtracting payments: the subtraction multiplies the payment's rounding by q^n (7·10^20 at
 * 100 % over 50 years), where the closed form is exact to a few ulps at every month and exactly 0 at
 * the last. Interest is the opening balance × rate, principal what the balance fell, and the payment
 * their sum, so the last payment absorbs all accumulated rounding. The Loan sheet's formulas are these,
 * with log1p and expm1 spelled as Goldberg's and Kahan's corrections (Excel has neither).
 */
export function loanSchedule(loan: LoanInput): LoanSchedule {
  const monthlyRate = loan.annualRate / 12;
  const payment = -pmt(monthlyRate, loan.termMonths, loan.principal);
  const start = excelSerial(loan.startDate);
  const n = loan.termMonths;
  // q^k − 1 as expm1(k·log1p(r)): at tiny rates the literal form keeps only the digits pow rounded
  // (1e-7 of the balance at 2e-10 a month); for real-world rates the two agree to ~1e-14.
  const L = Math.log1p(monthlyRate);
  const growthToEnd = Math.expm1(n * L);
  const balanceAfter = (m: number) =>
    monthlyRate === 0
      ? (loan.principal * (n - m)) / n
      : (loan.principal * Math.exp(m * L) * Math.expm1((n - m) * L)) / growthToEnd;
  const rows: LoanPayment[] = [];
  let opening = loan.principal;
  let totalInterest = 0;
  for (let m = 1; m <= n; m++) {
    const interest = opening * monthlyRate;
    const closing = balanceAfter(m);
    const principal = opening - closing;
    rows.push({
      month: m,
      date: edate(start, m),
      opening,
      payment: interest + principal,
      interest,
      principal,
      closing,
    });
    totalInterest += interest;
    opening = closing;
  }
  return { monthlyRate, logGrowth: L, growthToEnd, payment, totalInterest, rows };
}
