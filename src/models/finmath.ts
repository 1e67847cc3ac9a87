/**
 * Excel-compatible financial functions. Each one mirrors the operation order of Excel (and of
 * HyperFormula, our independent engine) so that the numbers a workbook recalculates to match the
 * numbers the model returned, not just to a few decimals.
 */

/**
 * Excel `PMT(rate, nper, pv, [fv], [type])`: the payment per period, negative for a loan received.
 * (1 + r)^n − 1 is taken as expm1(n·log1p(r)): Excel's literal form cancels catastrophically for tiny
 * rates (at r = 1e-16 it halves the payment); for any real-world rate the two agree to ~1e-13.
 */
export function pmt(rate: number, nper: number, pv: number, fv = 0, type: 0 | 1 = 0): number {
  // Below this, interest over the whole term is under 1e-15 of the principal: a zero rate.
  if (Math.abs(rate * nper) < 1e-15) return (-pv - fv) / nper;
  const growth = nper * Math.log1p(rate);
  const term = Math.exp(growth);
  return -((fv * rate + pv * rate * term) * (type ? 1 / (1 + rate) : 1)) / Math.expm1(growth);
}

/** Excel `NPV(rate, v1, v2, …)`: the first value is discounted one full period. */
export function npv(rate: number, values: readonly number[]): number {
  // Horner form from the last value backwards, as Excel/HyperFormula evaluate it.
  let acc = 0;
  for (let i = values.length - 1; i >= 0; i--) {
    acc += values[i]!;
    acc /= 1 + rate;
  }
  return acc;
}

/** Excel `IRR(values, [guess])`: the per-period rate at which the NPV of `values` (first undiscounted) is 0; NaN when none. */
export function irr(values: readonly number[], guess = 0.1): number {
  if (!values.some((v) => v > 0) || !values.some((v) => v < 0)) return NaN;
  // Horner in v = 1/(1+r): NPV = Σ c_i v^i and its derivative in one pass, no powers.
  const f = (r: number): [number, number] => {
    const v = 1 / (1 + r);
    let value = 0;
    let dv = 0;
    for (let i = values.length - 1; i >= 0; i--) {
      dv = dv * v + value;
      value = value * v + values[i]!;
    }
    return [value, -dv * v * v];
  };
  return solveRate(f, guess);
}

const DAY_MS = 86_400_000;
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);

/**
 * The first date every spreadsheet gives the same serial: 1900-03-01, serial 61. From it on, a serial counts
 * days since 1899-12-30 in Excel, LibreOffice Calc and Google Sheets alike. Before it they disagree by a day:
 * Excel (after Lotus 1-2-3) counts a 29 February 1900 that never was as serial 60 (Microsoft, "Excel
 * incorrectly assumes that the year 1900 is a leap year"), LibreOffice and Google Sheets do not (their
 * serial 1 is 1899-12-31). A loan drawn on 1900-01-31 had its first payment on 1900-02-28 in the JSON,
 * serial 59, while Excel's DATE/EOMONTH put it on the fictional 1900-02-29 (60) and LibreOffice on the 29th
 * day of a February that ends on the 28th. So no date before it is converted: callers refuse such dates.
 */
export const FIRST_PORTABLE_DATE = '1900-03-01';
export const FIRST_PORTABLE_SERIAL = 61;

/** A date before `FIRST_PORTABLE_DATE` is a caller's bug: its input check should have refused it. */
const unportable = (what: string) =>
  new RangeError(`${what} is before ${FIRST_PORTABLE_DATE}: spreadsheets disagree on serials before it`);

/**
 * Excel serial day number of an ISO date (`2008-01-01` → 39448, `1900-03-01` → 61). Throws for a date before
 * 1900-03-01 (see `FIRST_PORTABLE_DATE`): callers refuse those first (`checkFinance`).
 */
export function excelSerial(date: string | Date): number {
  const ms = typeof date === 'string' ? Date.parse(`${date.slice(0, 10)}T00:00:00Z`) : date.getTime();
  const days = Math.floor((ms - EXCEL_EPOCH_MS) / DAY_MS);
  if (!(days >= FIRST_PORTABLE_SERIAL)) throw unportable(`date ${String(date)}`);
  return days;
}

/** The UTC date of an Excel serial from 61 (1900-03-01) on; throws for earlier serials. */
function serialToDate(serial: number): Date {
  const s = Math.floor(serial);
  if (!(s >= FIRST_PORTABLE_SERIAL)) throw unportable(`serial ${serial}`);
  return new Date(EXCEL_EPOCH_MS + s * DAY_MS);
}

/** Excel `XNPV(rate, values, dates)`: actual/365 discounting from the first date; dates are Excel serials. */
export function xnpv(rate: number, values: readonly number[], dates: readonly number[]): number {
  const d0 = Math.floor(dates[0] ?? 0);
  let acc = 0;
  for (let i = 0; i < values.length; i++) {
    acc += values[i]! / (1 + rate) ** ((Math.floor(dates[i]!) - d0) / 365);
  }
  return acc;
}

/** Excel `XIRR(values, dates, [guess])`: the annual rate at which XNPV is 0; NaN when none. */
export function xirr(values: readonly number[], dates: readonly number[], guess = 0.1): number {
  if (!values.some((v) => v > 0) || !values.some((v) => v < 0)) return NaN;
  const d0 = Math.floor(dates[0] ?? 0);
  const t = dates.map((d) => (Math.floor(d) - d0) / 365);
  const f = (r: number): [number, number] => {
    let value = 0;
    let slope = 0;
    for (let i = 0; i < values.length; i++) {
      const factor = (1 + r) ** t[i]!;
      value += values[i]! / factor;
      slope -= (t[i]! * values[i]!) / (factor * (1 + r));
    }
    return [value, slope];
  };
  return solveRate(f, guess);
}

/**
 * Newton's method from `guess`, run until the step stops changing the rate (so the result is the
 * root to machine precision, whatever tolerance another engine stops at), with a bisection fallback
 * on (-1, 1e6) when Newton leaves the domain or stalls.
 */
function solveRate(f: (r: number) => [number, number], guess: number): number {
  let r = guess;
  for (let i = 0; i < 100; i++) {
    const [value, slope] = f(r);
    if (!Number.isFinite(value) || !Number.isFinite(slope) || slope === 0) break;
    let next = r - value / slope;
    if (next <= -1) next = (r - 1) / 2;
    if (!Number.isFinite(next)) break;
    if (value === 0) return r;
    // Newton converges quadratically: once a step is this small, one more step reaches machine
    // precision, while waiting for a zero step can oscillate in the last bit forever.
    if (Math.abs(next - r) <= 1e-9 * Math.max(1, Math.abs(r))) {
      const [v2, s2] = f(next);
      return s2 !== 0 && Number.isFinite(v2) ? next - v2 / s2 : next;
    }
    r = next;
  }
  return bisect((x) => f(x)[0], guess);
}

const GRID = [-0.999999, -0.99, -0.9, -0.5, -0.2, -0.05, 0, 0.05, 0.1, 0.3, 1, 3, 10, 100, 1e4, 1e6];

function bisect(g: (r: number) => number, guess: number): number {
  // Bracket a sign change, nearest the guess first (near -1 rounding dust in late flows can
  // create spurious roots), then bisect; NaN when no root is bracketed.
  const intervals = GRID.slice(0, -1)
    .map((lo, i) => [lo, GRID[i + 1]!] as const)
    .sort((a, b) => dist(a, guess) - dist(b, guess));
  for (const [a, b] of intervals) {
    let lo = a;
    let hi = b;
    let glo = g(lo);
    const ghi = g(hi);
    if (!Number.isFinite(glo) || !Number.isFinite(ghi) || Math.sign(glo) === Math.sign(ghi)) continue;
    for (let k = 0; k < 200 && hi - lo > 1e-16 * Math.max(1, Math.abs(lo)); k++) {
      const mid = (lo + hi) / 2;
      const gm = g(mid);
      if (Math.sign(gm) === Math.sign(glo)) {
        lo = mid;
        glo = gm;
      } else hi = mid;
    }
    return (lo + hi) / 2;
  }
  return NaN;
}

function dist([lo, hi]: readonly [number, number], x: number): number {
  return x < lo ? lo - x : x > hi ? x - hi : 0;
}

/** Adds months like Excel's `EDATE` (day clamped to the end of the target month); serials in and out. */
export function edate(serial: number, months: number): number {
  const d = serialToDate(serial);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return excelSerial(new Date(Date.UTC(y, m, Math.min(d.getUTCDate(), lastDay))));
}

/** Percentile with linear interpolation between closest ranks, as Excel's `PERCENTILE.INC`; `sorted` ascending. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}
