import { InvalidArgumentError } from 'commander';

/**
 * A numeric option's parser, with the range the server accepts, so a value out of it is refused here, before
 * anything is sent, with the range in words: `--growth 0` was sent and answered with the server's terse
 * "body/growth must be >= 1". `whole`: integers only.
 */
export function numberIn(
  min: number,
  max: number,
  options: { whole?: boolean; unit?: string } = {},
): (value: string) => number {
  const kind = options.whole ? 'a whole number' : 'a number';
  const unit = options.unit ? ` ${options.unit}` : '';
  return (value) => {
    const n = value.trim() === '' ? Number.NaN : Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (options.whole && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`"${value}" is not allowed: use ${kind} from ${min} to ${max}${unit}.`);
    }
    return n;
  };
}
