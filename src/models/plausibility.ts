import type { ModelWarning } from './types.ts';

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
