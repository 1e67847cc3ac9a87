import type { ModelWarning } from './types.ts';

/**
 * Above these a rate (a fraction) is most likely a percentage typed as a number. They are written into
 * the input schemas as `x-warn-above`, so the portal asks for confirmation at the same threshold at which
 * the API warns.
 */
export const WARN_ABOVE = {
  /** Revenue or portfolio growth above 100 % a year. */
  growth: 1,
  /** A discount rate (WACC) or loan rate above 50 %. */
  rate: 0.5,
} as const;

/**
 * A warning when a rate (a fraction: 0.05 is 5 %) is above `max`: most often a percentage typed as a
 * number, 5 for 5 %. `path` is the input field's JSON pointer under `/input`.
 */
export function implausibleRate(path: string, label: string, value: number, max: number): ModelWarning[] {
  if (!(value > max)) return [];
  return [
    {
      code: 'rate_implausible',
      path: `/input${path}`,
      message: `${label} is ${value}, that is ${+(value * 100).toPrecision(12)} %; rates are fractions (0.05 is 5 %). Above ${max * 100} % is unusual: check it was not meant as ${+(value / 100).toPrecision(12)}.`,
    },
  ];
}
