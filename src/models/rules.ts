import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { type FieldProblem, ValidationError } from '../core/errors.ts';
import type { ModelRules } from '../core/tenant.ts';
import { toFieldProblems } from './ajv-messages.ts';
import { TenantRulesError } from './errors.ts';
import {
  deletePath,
  forEachNumericSchema,
  hasPath,
  inputPointer,
  locateProperty,
  setPathIfParentExists,
} from './schema-paths.ts';
import type { JsonSchema, ModelDefinition } from './types.ts';

// ajv-formats is CommonJS; under NodeNext its default import is the module object on some toolchains.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/**
 * One Ajv for all models. `useDefaults` fills defaults into the (cloned) input; `verbose` keeps the
 * failing schema on each error so messages can name the tenant rule that narrowed a range.
 */
const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: false });
addFormats(ajv);

interface Compiled {
  schema: JsonSchema;
  validate: ValidateFunction;
  /** The model's own schema: the merged input must also satisfy it (guards fixed values). */
  validateBase: ValidateFunction;
}

const MAX_CACHED = 512;
const cache = new Map<string, Compiled>();

/** Rule-level mistakes an operator can make; [] when the rules fit the model. */
export function checkRules(model: ModelDefinition, rules: ModelRules): string[] {
  const problems: string[] = [];
  for (const kind of ['defaults', 'fixed', 'ranges'] as const) {
    for (const [path, value] of Object.entries(rules[kind] ?? {})) {
      const loc = locateProperty(model.inputSchema, path);
      if (!loc) {
        problems.push(`${kind}.${path} names no field of ${model.name}`);
        continue;
      }
      if (kind === 'ranges') {
        const r = value as { minimum?: number; maximum?: number };
        if (r.minimum !== undefined && r.maximum !== undefined && r.minimum > r.maximum) {
          problems.push(`ranges.${path} has minimum ${r.minimum} above maximum ${r.maximum}`);
        }
      } else if (!ajv.validate(loc.node, value)) {
        problems.push(`${kind}.${path} = ${JSON.stringify(value)} is not a valid value: ${ajv.errorsText()}`);
      }
    }
  }
  if (rules.rounding !== undefined && !(Number.isInteger(rules.rounding) && rules.rounding >= 0)) {
    problems.push('rounding must be a whole number of decimal places');
  }
  return problems;
}

/** The model's input schema as this tenant's form shows it: defaults replaced, fixed fields removed, ranges narrowed. */
export function schemaForTenant(model: ModelDefinition, rules: ModelRules): JsonSchema {
  return compiled(model, rules).schema;
}

function buildTenantSchema(model: ModelDefinition, rules: ModelRules): JsonSchema {
  const problems = checkRules(model, rules);
  if (problems.length) throw new TenantRulesError(model.name, problems);
  const schema = structuredClone(model.inputSchema);
  for (const [path, value] of Object.entries(rules.defaults ?? {})) {
    locateProperty(schema, path)!.node['default'] = structuredClone(value);
    editAncestorDefaults(schema, path, (obj, key) => {
      obj[key] = structuredClone(value);
    });
  }
  for (const [path, range] of Object.entries(rules.ranges ?? {})) {
    const { node } = locateProperty(schema, path)!;
    node['x-rule'] = `ranges.${path}`;
    forEachNumericSchema(node, (n) => {
      n['x-rule'] = `ranges.${path}`;
      if (range.minimum !== undefined) n['minimum'] = Math.max(num(n['minimum'], -Infinity), range.minimum);
      if (range.maximum !== undefined) n['maximum'] = Math.min(num(n['maximum'], Infinity), range.maximum);
    });
    // A tenant default outside the narrowed range would make the untouched form invalid.
    const d = node['default'];
    if (typeof d === 'number') node['default'] = clamp(d, range.minimum, range.maximum);
  }
  for (const path of Object.keys(rules.fixed ?? {})) {
    const { parent, key } = locateProperty(schema, path)!;
    delete (parent['properties'] as Record<string, unknown>)[key];
    // An enclosing object's default must not carry the hidden field, or the form would fail itself.
    editAncestorDefaults(schema, path, (obj, k) => {
      delete obj[k];
    });
    const required = parent['required'] as string[] | undefined;
    if (required) parent['required'] = required.filter((k) => k !== key);
  }
  return schema;
}

function compiled(model: ModelDefinition, rules: ModelRules): Compiled {
  const key = `${model.name}@${model.version}\0${JSON.stringify(rules)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const schema = buildTenantSchema(model, rules);
  const entry: Compiled = {
    schema,
    validate: ajv.compile(schema),
    validateBase: compiled0(model),
  };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, entry);
  return entry;
}

const baseValidators = new WeakMap<JsonSchema, ValidateFunction>();
function compiled0(model: ModelDefinition): ValidateFunction {
  let v = baseValidators.get(model.inputSchema);
  if (!v) {
    v = ajv.compile(model.inputSchema);
    baseValidators.set(model.inputSchema, v);
  }
  return v;
}

/**
 * Validates a raw job input against the tenant's schema, fills defaults and fixed values, then runs
 * the model's own checks. Throws one `ValidationError` carrying every problem found.
 */
export function resolveInput<I>(
  model: ModelDefinition<I>,
  rules: ModelRules,
  rawInput: unknown,
): { effectiveInput: I } {
  const c = compiled(model as ModelDefinition, rules);
  if (rawInput === null || typeof rawInput !== 'object' || Array.isArray(rawInput)) {
    throw new ValidationError([{ path: '/input', message: 'must be an object' }]);
  }
  const input = structuredClone(rawInput) as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  for (const path of Object.keys(rules.fixed ?? {})) {
    if (!hasPath(input, path)) continue;
    problems.push({
      path: inputPointer(path),
      message: `is fixed to ${JSON.stringify(rules.fixed![path])} by the tenant and cannot be set (tenant rule: fixed.${path})`,
      rule: `fixed.${path}`,
    });
    // Removed so that the schema check below reports only the other problems.
    deletePath(input, path);
  }
  if (!c.validate(input)) problems.push(...toFieldProblems(c.validate.errors ?? []));
  if (problems.length) throw new ValidationError(problems);
  for (const [path, value] of Object.entries(rules.fixed ?? {})) {
    setPathIfParentExists(input, path, structuredClone(value));
  }
  if (!c.validateBase(input)) throw new ValidationError(toFieldProblems(c.validateBase.errors ?? []));
  const modelProblems = model.check(input as I).map((p) => ({ ...p, path: `/input${p.path}` }));
  if (modelProblems.length) throw new ValidationError(modelProblems);
  return { effectiveInput: input as I };
}

/** Applies `edit` to the value at `path` inside every enclosing object's `default` (e.g. managementFee's). */
function editAncestorDefaults(
  schema: JsonSchema,
  path: string,
  edit: (obj: Record<string, unknown>, key: string) => void,
): void {
  const keys = path.split('.');
  for (let i = 1; i < keys.length; i++) {
    const node = locateProperty(schema, keys.slice(0, i).join('.'))?.node;
    const dflt = node?.['default'];
    if (dflt === null || typeof dflt !== 'object' || Array.isArray(dflt)) continue;
    let obj = dflt as Record<string, unknown>;
    const rest = keys.slice(i);
    for (const k of rest.slice(0, -1)) {
      const next = obj[k];
      if (next === null || typeof next !== 'object') return;
      obj = next as Record<string, unknown>;
    }
    edit(obj, rest[rest.length - 1]!);
  }
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

function clamp(v: number, min: number | undefined, max: number | undefined): number {
  return Math.min(max ?? Infinity, Math.max(min ?? -Infinity, v));
}
