import { ValidationError } from '../core/errors.ts';
import type { TenantConfig } from '../core/tenant.ts';

type Range = { min: number; max?: number; integer: boolean; exclusiveMin?: boolean };

/**
 * What an operator may set, checked before it is stored: a dedicated function's settings within what
 * Lambda (and the CloudFormation template's parameters) accept, limits as non-negative numbers. A bad value
 * is a 400 naming each field, never a stored setting that fails later in a function or a stack update.
 */
const FUNCTION: Record<string, Range> = {
  reservedConcurrency: { min: 0, max: 1000, integer: true },
  memoryMb: { min: 128, max: 10240, integer: true },
  timeoutSec: { min: 1, max: 900, integer: true },
  idleTimeoutSec: { min: 1, max: 86_400, integer: true },
};
const LIMITS: Record<string, Range> = {
  maxRunningJobs: { min: 0, integer: true },
  maxQueuedJobs: { min: 0, integer: true },
  submitRatePerSec: { min: 0, integer: false },
  submitBurst: { min: 0, integer: true },
  weight: { min: 0, integer: false, exclusiveMin: true },
};

export function checkConfig(config: Partial<TenantConfig> | undefined): void {
  if (config === undefined) return;
  const problems = [
    ...checkNumbers('/config/function', config.function, FUNCTION),
    ...checkNumbers('/config/limits', config.limits, LIMITS),
  ];
  if (problems.length > 0) throw new ValidationError(problems);
}

function checkNumbers(base: string, values: unknown, ranges: Record<string, Range>) {
  if (values === undefined) return [];
  if (typeof values !== 'object' || values === null || Array.isArray(values))
    return [{ path: base, message: 'must be an object', rule: 'type' }];
  const problems: { path: string; message: string; rule: string }[] = [];
  for (const [key, value] of Object.entries(values)) {
    const range = ranges[key];
    const path = `${base}/${key}`;
    if (!range) {
      problems.push({
        path,
        message: `is not a setting (${Object.keys(ranges).join(', ')})`,
        rule: 'additionalProperties',
      });
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problems.push({ path, message: 'must be a number', rule: 'type' });
      continue;
    }
    if (range.integer && !Number.isInteger(value))
      problems.push({ path, message: 'must be a whole number', rule: 'integer' });
    else if (range.exclusiveMin ? value <= range.min : value < range.min)
      problems.push({
        path,
        message: `must be ${range.exclusiveMin ? 'more than' : 'at least'} ${range.min}`,
        rule: 'minimum',
      });
    else if (range.max !== undefined && value > range.max)
      problems.push({ path, message: `must be at most ${range.max}`, rule: 'maximum' });
  }
  return problems;
}
