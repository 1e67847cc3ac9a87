import type { ErrorObject } from 'ajv';
import type { FieldProblem } from '../core/errors.ts';
import { pointerSegment } from './schema-paths.ts';
import type { JsonSchema } from './types.ts';

/**
 * Turns Ajv's errors into one human problem per field. Range errors state the whole allowed range
 * and, when a tenant rule narrowed it, name the rule; `anyOf` errors report only the branch whose
 * type the value has, so a list with one bad rate says which rate, not "must be number".
 */
export function toFieldProblems(
  errors: readonly ErrorObject[],
  options: { base?: string; unknownField?: string } = {},
): FieldProblem[] {
  const base = options.base ?? '/input';
  const toProblem = (e: ErrorObject) =>
    problemOf(e, base, options.unknownField ?? 'is not a field of this model');
  const dropped = new Set<ErrorObject>();
  const extra: FieldProblem[] = [];
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    dropped.add(e);
    const prefix = `${e.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const b of errors) {
      if (!b.schemaPath.startsWith(prefix)) continue;
      const idx = b.schemaPath.slice(prefix.length).split('/')[0]!;
      branches.set(idx, [...(branches.get(idx) ?? []), b]);
    }
    const typeMatched = [...branches.values()].find(
      (errs) => !errs.some((b) => b.keyword === 'type' && b.instancePath === e.instancePath),
    );
    for (const errs of branches.values()) {
      if (errs !== typeMatched) for (const b of errs) dropped.add(b);
    }
    if (!typeMatched) {
      const types = ((e.parentSchema?.[e.keyword] as JsonSchema[] | undefined) ?? []).map((s) =>
        s['type'] === 'array' ? 'a list of numbers' : `a ${String(s['type'])}`,
      );
      extra.push({ path: `${base}${e.instancePath}`, message: `must be ${types.join(' or ')}` });
    }
  }
  const problems = errors.filter((e) => !dropped.has(e)).map(toProblem);
  const seen = new Set<string>();
  return [...problems, ...extra].filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function problemOf(e: ErrorObject, base: string, unknownField: string): FieldProblem {
  const path = `${base}${e.instancePath}`;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const schema = (e.parentSchema ?? {}) as JsonSchema;
      const rule = schema['x-rule'] as string | undefined;
      const message = describeRange(schema) + (rule ? ` (tenant rule: ${rule})` : '');
      return rule ? { path, message, rule } : { path, message };
    }
    case 'required':
      return { path: `${path}/${pointerSegment(String(params['missingProperty']))}`, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${path}/${pointerSegment(String(params['additionalProperty']))}`,
        message: unknownField,
      };
    case 'enum':
      return { path, message: `must be one of: ${(params['allowedValues'] as unknown[]).join(', ')}` };
    case 'type':
      return {
        path,
        message: `must be ${/^[aeiou]/.test(String(params['type'])) ? 'an' : 'a'} ${String(params['type'])}`,
      };
    case 'format':
      return {
        path,
        message:
          params['format'] === 'date'
            ? 'must be a date (YYYY-MM-DD)'
            : `must be a ${String(params['format'])}`,
      };
    case 'maxLength':
    case 'minLength':
      return {
        path,
        message: `must be at ${e.keyword === 'maxLength' ? 'most' : 'least'} ${String(params['limit'])} characters`,
      };
    case 'maxProperties':
      return { path, message: `may have at most ${String(params['limit'])} entries` };
    default:
      return { path, message: e.message ?? 'is not valid' };
  }
}

function describeRange(schema: JsonSchema): string {
  const num = (k: string) => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
  const min = num('minimum');
  const max = num('maximum');
  const xmin = num('exclusiveMinimum');
  const xmax = num('exclusiveMaximum');
  const lower = xmin !== undefined && (min === undefined || xmin >= min) ? `greater than ${xmin}` : undefined;
  const upper = xmax !== undefined && (max === undefined || xmax <= max) ? `less than ${xmax}` : undefined;
  if (!lower && !upper && min !== undefined && max !== undefined) return `must be between ${min} and ${max}`;
  const parts = [
    lower ?? (min !== undefined ? `at least ${min}` : undefined),
    upper ?? (max !== undefined ? `at most ${max}` : undefined),
  ].filter(Boolean);
  return `must be ${parts.join(' and ')}`;
}
