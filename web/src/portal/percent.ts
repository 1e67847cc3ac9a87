/**
 * Rates are fractions in the API (0.05 is 5 %) and percentages to people. A percent input accepts what
 * people type and says what it understood:
 *
 * - `5 %` or `5%`: always percent → 0.05
 * - `5` or `-12.5`: a bare number of 1 or more (in absolute value) is percent → 0.05, −0.125
 * - `0.05`: a bare number below 1 is a fraction → 0.05 (5 %); type `0.05%` for 0.05 %
 *
 * A comma is read as the decimal point when there is no other (`5,5` → 5.5 %).
 */
export type PercentReading =
  | { kind: 'empty' }
  | { kind: 'invalid'; text: string }
  | { kind: 'percent' | 'fraction'; fraction: number };

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

export function readPercent(raw: string): PercentReading {
  let text = raw.trim();
  if (text === '') return { kind: 'empty' };
  const explicit = text.endsWith('%');
  if (explicit) text = text.slice(0, -1).trim();
  text = text.replace(/\s+/g, '');
  if (!text.includes('.') && (text.match(/,/g) ?? []).length === 1) text = text.replace(',', '.');
  if (!NUMBER.test(text)) return { kind: 'invalid', text: raw };
  const n = Number(text);
  if (!Number.isFinite(n)) return { kind: 'invalid', text: raw };
  if (explicit || Math.abs(n) >= 1) return { kind: 'percent', fraction: hundredth(text) };
  return { kind: 'fraction', fraction: n };
}

/**
 * The decimal text divided by 100 by moving its exponent, so the result is the double nearest the decimal
 * value (`33.3` → 0.333), as if the user had typed the fraction; 33.3 / 100 would be 0.33299999999999996.
 */
function hundredth(text: string): number {
  const [mantissa, exponent = '0'] = text.toLowerCase().split('e');
  return Number(`${mantissa}e${Number(exponent) - 2}`);
}

/** 12 significant digits hide binary dust: 0.07 × 100 is 7.000000000000001. */
const clean = (x: number) => String(+x.toPrecision(12));

/**
 * The decimal digits of `x` with the point moved `by` places, as plain text (`0.0725`, 2 → `7.25`): no
 * arithmetic, so reading the text back and moving the point back gives `x` itself.
 */
function shiftPoint(x: number, by: number): string {
  const [m = '', e = '0'] = String(x).split('e');
  const negative = m.startsWith('-');
  const [int = '', frac = ''] = (negative ? m.slice(1) : m).split('.');
  let digits = int + frac;
  let point = int.length + Number(e) + by;
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  }
  digits = digits.padEnd(point, '0');
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const rest = digits.slice(point).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${rest ? `.${rest}` : ''}`;
}

/** `0.05` → `5 %`: the text a percent input starts from, which reads back to exactly `fraction`. */
export function formatPercent(fraction: number): string {
  return `${shiftPoint(fraction, 2)} %`;
}

/** What the input understood, in words: `5 % (0.05)`. */
export function describeFraction(fraction: number): string {
  return `${clean(fraction * 100)} % (${clean(fraction)})`;
}

/** The line shown under a percent input. */
export function understood(reading: PercentReading): string {
  switch (reading.kind) {
    case 'empty':
      return 'Type a rate: 5, 5 % or 0.05 all mean 5 %.';
    case 'invalid':
      return `“${reading.text.trim()}” is not a rate: type 5, 5 % or 0.05 for 5 %.`;
    case 'percent':
      return `Understood as ${describeFraction(reading.fraction)}.`;
    case 'fraction':
      return reading.fraction === 0
        ? `Understood as ${describeFraction(0)}.`
        : `Understood as ${describeFraction(reading.fraction)}: a number below 1 is read as a fraction; type ${clean(reading.fraction)}% for ${clean(reading.fraction)} %.`;
  }
}
