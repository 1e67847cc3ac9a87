/**
 * Where a figure sits in a model's summary and what it measures. `'money'` marks an amount in the job's
 * currency, `'fraction'` a rate (0.05 is 5 %), `'multiple'` a ratio shown as 1.5×; an array's unit is its
 * element's. Only money is rounded by the tenant's rule: everything else keeps full precision, so the rule
 * can never turn an 8.16 % IRR into 0.08. `GET /v1/models` returns these, so clients format by data.
 */
export type SummaryUnit = 'money' | 'fraction' | 'multiple';
export type SummaryUnits = SummaryUnit | readonly [SummaryUnits] | { readonly [key: string]: SummaryUnits };

/**
 * Excel `ROUND(x, decimals)`: half away from zero on the decimal value the user sees (`1.015` → 1.02,
 * `-2.5` → -3), not on the binary double (1.015 is stored as 1.01499999999999990230…). Microsoft's ROUND
 * page: `ROUND(-1.475, 2)` = -1.48; "Excel specifications and limits": number precision 15 digits.
 *
 * Like Excel, the number is read at 15 significant digits, and when that reading has a digit past the
 * rounding position the reading is rounded. When it has none (|x| · 10^decimals ≥ 10^14: 2^51 + 0.5 to whole
 * units, 12345678901234.565 to cents) the reading is itself coarser than the rounding step, so the double's
 * exact binary value is rounded instead: ROUND(2^51 + 0.5, 0) is 2^51 + 1, and a figure is never moved by
 * more than half a step (rounding the reading moved 2^51 + 0.5 to 2^51 + 2, 12345678901234.564 to .6 at two
 * places, and from 2^52 / 10^decimals on figures came back unrounded). All of it is integer arithmetic on
 * decimal digits: no binary rounding in between.
 */
export function roundHalfAwayFromZero(x: number, decimals: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const abs = Math.abs(x);
  const reading = decimalOf(abs.toPrecision(15));
  const value = reading.exponent < -decimals ? reading : exactDecimal(abs);
  const rounded = Number(roundDecimal(value, decimals));
  return x < 0 && rounded !== 0 ? -rounded : rounded;
}

/** A non-negative decimal `digits × 10^exponent`. */
interface Decimal {
  digits: bigint;
  exponent: number;
}

/** The decimal of number text such as `1.01500000000000` or `4.50359962737050e+15`. */
function decimalOf(text: string): Decimal {
  const [mantissa = '0', exp = '0'] = text.split('e');
  const [whole = '0', fraction = ''] = mantissa.split('.');
  return { digits: BigInt(whole + fraction), exponent: Number(exp) - fraction.length };
}

/** The exact decimal value of a finite non-negative double: m · 2^e is m · 5^−e · 10^e for e < 0. */
function exactDecimal(abs: number): Decimal {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, abs);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const e = (biased === 0 ? 1 : biased) - 1075;
  return e >= 0
    ? { digits: mantissa << BigInt(e), exponent: 0 }
    : { digits: mantissa * 5n ** BigInt(-e), exponent: e };
}

/** `d` rounded to `decimals` places, half away from zero (d ≥ 0), as number text. */
function roundDecimal(d: Decimal, decimals: number): string {
  const drop = -decimals - d.exponent;
  if (drop <= 0) return `${d.digits}e${d.exponent}`;
  const unit = 10n ** BigInt(drop);
  const kept = d.digits / unit;
  return `${2n * (d.digits % unit) >= unit ? kept + 1n : kept}e${-decimals}`;
}

/**
 * Rounds the money figures of a summary to `decimals` places (the tenant's `rules.rounding`) with
 * Excel's ROUND; every figure `units` does not mark as money is returned as it is.
 */
export function roundMoney<T>(value: T, units: SummaryUnits, decimals: number | undefined): T {
  if (decimals === undefined) return value;
  const walk = (v: unknown, u: SummaryUnits | undefined): unknown => {
    if (u === undefined) return v;
    if (u === 'money') return typeof v === 'number' ? roundHalfAwayFromZero(v, decimals) : v;
    if (typeof u === 'string') return v;
    if (Array.isArray(v)) return Array.isArray(u) ? v.map((x) => walk(x, u[0])) : v;
    if (v !== null && typeof v === 'object' && !Array.isArray(u)) {
      const fields = u as { readonly [key: string]: SummaryUnits };
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, walk(x, Object.hasOwn(fields, k) ? fields[k] : undefined)]),
      );
    }
    return v;
  };
  return walk(value, units) as T;
}
