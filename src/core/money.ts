/**
 * Money in integer minor units (cents), never floats. Each currency says how many minor digits it has and
 * how a fraction of a minor unit rounds (ISO 4217 digits; half-even — "banker's rounding" — where no rule
 * says otherwise, half-up for JPY as Japanese invoices round). docs/billing.md documents the table.
 */
export interface Currency {
  code: string;
  minorDigits: number;
  rounding: 'half-even' | 'half-up';
}

export const CURRENCIES: Record<string, Currency> = {
  USD: { code: 'USD', minorDigits: 2, rounding: 'half-even' },
  EUR: { code: 'EUR', minorDigits: 2, rounding: 'half-even' },
  GBP: { code: 'GBP', minorDigits: 2, rounding: 'half-even' },
  JPY: { code: 'JPY', minorDigits: 0, rounding: 'half-up' },
};

export function currencyOf(code: string): Currency {
  const c = Object.hasOwn(CURRENCIES, code) ? CURRENCIES[code] : undefined;
  if (!c) throw new Error(`Unknown currency ${code}`);
  return c;
}

/**
 * `numerator / denominator` rounded to a whole number the currency's way (both whole, denominator > 0).
 * Exact in BigInt whatever the sizes.
 */
export function roundRatio(numerator: bigint, denominator: bigint, rounding: Currency['rounding']): number {
  if (denominator <= 0n) throw new Error('denominator must be positive');
  const negative = numerator < 0n;
  const n = negative ? -numerator : numerator;
  let q = n / denominator;
  const twice = 2n * (n % denominator);
  if (twice > denominator || (twice === denominator && (rounding === 'half-up' || q % 2n === 1n))) q += 1n;
  return Number(negative ? -q : q);
}

/** `units × minor / per` (a price of `minor` per `per` units), rounded the currency's way. */
export function priceUnits(units: number, price: { minor: number; per: number }, currency: Currency): number {
  return roundRatio(BigInt(units) * BigInt(price.minor), BigInt(price.per), currency.rounding);
}

/** Minor units as text: `1234` USD → `12.34`. */
export function formatMinor(minor: number, currency: Currency): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  if (currency.minorDigits === 0) return `${sign}${abs}`;
  const scale = 10 ** currency.minorDigits;
  return `${sign}${Math.floor(abs / scale)}.${String(abs % scale).padStart(currency.minorDigits, '0')}`;
}

/** Micro-dollars (costs, src/core/costing.ts) in cents, half-even. */
export function microsToCents(micros: number): number {
  return roundRatio(BigInt(micros), 10_000n, 'half-even');
}
