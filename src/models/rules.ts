import { Ajv, type FormatDefinition, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { type FieldProblem, ValidationError } from '../core/errors.ts';
import type { ModelRules } from '../core/tenant.ts';
import { toFieldProblems } from './ajv-messages.ts';
import { TenantRulesError } from './errors.ts';
import {
  deletePath,
  forEachNumericSchema,
  getPath,
  hasPath,
  inputPointer,
  locateProperty,
  ownChild,
  pointerSegment,
  rulePathProblem,
  setPathIfParentExists,
} from './schema-paths.ts';
import type { JsonSchema, ModelDefinition } from './types.ts';

// ajv-formats is CommonJS; under NodeNext its default import is the module object on some toolchains.
const addAjvFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const rfc3339DateTime = fullFormats['date-time'] as FormatDefinition<string> & {
  validate: (value: string) => boolean;
};

/**
 * ajv-formats' formats, with `date-time` also requiring an instant JavaScript can represent: RFC 3339
 * allows a leap second (`2016-12-31T23:59:60Z`), which `Date.parse` answers with NaN, so a value the
 * schema passed became an Invalid Date after it (a 500 from `toISOString`, a filter that compared false
 * and was silently dropped). Every Ajv of the project that knows formats gets them from here.
 */
export function addFormats(ajv: Ajv): Ajv {
  addAjvFormats(ajv);
  return ajv.addFormat('date-time', {
    ...rfc3339DateTime,
    validate: (value: string) => rfc3339DateTime.validate(value) && Number.isFinite(Date.parse(value)),
  });
}

/**
 * One Ajv for all models. `useDefaults` fills defaults into the (cloned) input; `verbose` keeps the
 * failing schema on each error so messages can name the tenant rule that narrowed a range.
 */
let sharedAjv: Ajv | undefined;
// Made on first use: a function process that only runs stored jobs never validates an input.
const ajvOf = (): Ajv =>
  (sharedAjv ??= addFormats(new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: false })));

interface Compiled {
  schema: JsonSchema;
  validate: ValidateFunction;
  /** The model's own schema: the merged input must also satisfy it (guards fixed values). */
  validateBase: ValidateFunction;
}

/** One rule set's tenant schema, and its validator once a submit needed it (a workbook needs only the schema). */
interface TenantSchema {
  schema: JsonSchema;
  validate?: ValidateFunction;
}

const MAX_CACHED = 512;
const cache = new Map<string, TenantSchema>();

/** Decimal places a tenant may ask for in reported figures. */
export const MAX_ROUNDING = 10;

/** The shape of one model's rules; whether each path names a field is checked against the model below. */
export const RULES_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    defaults: { type: 'object', maxProperties: 500 },
    fixed: { type: 'object', maxProperties: 500 },
    ranges: {
      type: 'object',
      maxProperties: 500,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: { minimum: { type: 'number' }, maximum: { type: 'number' } },
      },
    },
    rounding: { type: 'integer', minimum: 0, maximum: MAX_ROUNDING },
  },
} as const;

/** Checks values without filling defaults: an operator's setting is read, never changed, by checking it. */
// Compiled on first use: a function process that only runs jobs never checks rules, and compiling takes
// tens of milliseconds of its cold start.
let lazyChecker: { checker: Ajv; rulesShape: ValidateFunction } | undefined;
function rulesChecker(): { checker: Ajv; rulesShape: ValidateFunction } {
  if (!lazyChecker) {
    const checker = addFormats(new Ajv({ allErrors: true, strict: false, verbose: true }));
    lazyChecker = { checker, rulesShape: checker.compile(RULES_SCHEMA) };
  }
  return lazyChecker;
}

const RULE_KINDS = new Set(['defaults', 'fixed', 'ranges']);
/**
 * A plain object (JSON's): a property Ajv reads could not come from an unusual prototype, and every own
 * property is an enumerable data property with a string key, so `for…in` sees each one Ajv's `properties`
 * reads (it reads `data.rounding` whether or not it is enumerable or a getter).
 */
const isObjectValue = (v: unknown): v is Record<string, unknown> =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  [Object.prototype, null].includes(Object.getPrototypeOf(v)) &&
  Reflect.ownKeys(v).every((key) => {
    const d = typeof key === 'string' ? Object.getOwnPropertyDescriptor(v, key) : undefined;
    return d?.enumerable === true && 'value' in d;
  });
/** `RULES_SCHEMA`'s `maxProperties`. */
const MAX_RULES_OF_A_KIND = 500;

/**
 * True only when `RULES_SCHEMA` accepts `rules` (false when in doubt: Ajv then decides and names the
 * problems). Keys are walked with `for…in`, as Ajv's `additionalProperties` code does; numbers must be
 * finite, which Ajv's `number` and `integer` accept whatever its `strictNumbers`.
 */
export function surelyRulesShape(rules: unknown): boolean {
  if (!isObjectValue(rules)) return false;
  for (const kind in rules) {
    const value = rules[kind];
    if (kind === 'rounding') {
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_ROUNDING) return false;
      continue;
    }
    if (!RULE_KINDS.has(kind) || !isObjectValue(value) || Object.keys(value).length > MAX_RULES_OF_A_KIND)
      return false;
    if (kind !== 'ranges') continue;
    for (const path in value) {
      const range = value[path];
      if (!isObjectValue(range)) return false;
      for (const bound in range) {
        if (bound !== 'minimum' && bound !== 'maximum') return false;
        if (!Number.isFinite(range[bound])) return false;
      }
    }
  }
  return true;
}

/**
 * Every mistake in one model's rules, any JSON value accepted: each path must name a field of the model's
 * input schema (own properties only; no `__proto__`, `constructor` or `prototype` segment), defaults and
 * fixed values must fit the field, a range must leave some value allowed. Paths are JSON Pointers relative
 * to the rules object (`/ranges/loan.annualRate`); [] when the rules fit the model.
 */
export function checkRules(model: ModelDefinition, rules: unknown): FieldProblem[] {
  // Ajv is compiled only when the plain check below cannot vouch for the shape (it then says what is wrong):
  // a first job's workbook checks its tenant's rules, and the compile was tens of milliseconds of a
  // dedicated function's cold start (docs/benchmarks.md, "Session 20").
  if (!surelyRulesShape(rules)) {
    const { rulesShape: validate } = rulesChecker();
    if (!validate(rules)) {
      return toFieldProblems(validate.errors ?? [], {
        base: '',
        unknownField: 'is not a kind of rule (defaults, fixed, ranges, rounding)',
      });
    }
  }
  const problems: FieldProblem[] = [];
  const typed = rules as ModelRules;
  for (const kind of ['defaults', 'fixed', 'ranges'] as const) {
    for (const [path, value] of Object.entries(typed[kind] ?? {})) {
      const at = `/${kind}/${pointerSegment(path)}`;
      const spelling = rulePathProblem(path);
      const loc = spelling ? undefined : locateProperty(model.inputSchema, path);
      if (!loc) {
        problems.push({ path: at, message: spelling ?? `names no field of ${model.name}`, rule: 'path' });
      } else if (kind === 'ranges') {
        problems.push(...rangeProblems(at, loc.node, value as { minimum?: number; maximum?: number }));
      } else {
        const { checker } = rulesChecker();
        if (!checker.validate(loc.node, value))
          problems.push(...toFieldProblems(checker.errors ?? [], { base: at }));
      }
    }
  }
  return problems;
}

function rangeProblems(
  at: string,
  field: JsonSchema,
  range: { minimum?: number; maximum?: number },
): FieldProblem[] {
  const numeric: JsonSchema[] = [];
  forEachNumericSchema(field, (n) => numeric.push(n));
  if (numeric.length === 0)
    return [{ path: at, message: 'names a field that is not a number', rule: 'type' }];
  if (range.minimum !== undefined && range.maximum !== undefined && range.minimum > range.maximum) {
    return [
      {
        path: at,
        message: `has minimum ${range.minimum} above maximum ${range.maximum}`,
        rule: 'range',
      },
    ];
  }
  for (const n of numeric) {
    const low = Math.max(num(n['minimum'], -Infinity), range.minimum ?? -Infinity);
    const high = Math.min(num(n['maximum'], Infinity), range.maximum ?? Infinity);
    if (low > high) {
      return [
        { path: at, message: `leaves no allowed value (the model allows ${describe(n)})`, rule: 'range' },
      ];
    }
  }
  return [];
}

function describe(n: JsonSchema): string {
  return `${num(n['minimum'], -Infinity)} to ${num(n['maximum'], Infinity)}`;
}

/** The model's input schema as this tenant's form shows it: defaults replaced, fixed fields removed, ranges narrowed. */
export function schemaForTenant(model: ModelDefinition, rules: ModelRules): JsonSchema {
  // No validator: a job's workbook needs only the schema, and Ajv's compile of it was tens of milliseconds
  // of a dedicated function's first job.
  return tenantSchema(model, rules).schema;
}

function buildTenantSchema(model: ModelDefinition, rules: ModelRules): JsonSchema {
  const problems = checkRules(model, rules);
  if (problems.length) throw new TenantRulesError(model.name, problems);
  // A copy per rule set: the model's schema is shared by every tenant (and frozen), so nothing here may edit it.
  const schema = structuredClone(model.inputSchema) as JsonSchema;
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
  // Cached and handed to every tenant with the same rules: frozen so no caller can edit it for the others.
  return deepFreeze(schema);
}

/** The tenant schema of one rule set, built once (its validator is compiled by `compiled`, when asked). */
function tenantSchema(model: ModelDefinition, rules: ModelRules): TenantSchema {
  const key = `${model.name}@${model.version}\0${JSON.stringify(rules)}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const entry: TenantSchema = { schema: buildTenantSchema(model, rules) };
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, entry);
  return entry;
}

function compiled(model: ModelDefinition, rules: ModelRules): Compiled {
  const entry = tenantSchema(model, rules);
  entry.validate ??= ajvOf().compile(entry.schema);
  return { schema: entry.schema, validate: entry.validate, validateBase: compiled0(model) };
}

const baseValidators = new WeakMap<JsonSchema, ValidateFunction>();
function compiled0(model: ModelDefinition): ValidateFunction {
  let v = baseValidators.get(model.inputSchema);
  if (!v) {
    v = ajvOf().compile(model.inputSchema);
    baseValidators.set(model.inputSchema, v);
  }
  return v;
}

/**
 * Compiles the input validators a submit of `models` with no tenant rules uses (the model's own schema and
 * the tenant schema of empty rules), so the first submit after a start does not pay for them: Ajv's compile
 * of a model's schema took ~100 ms of a fresh server's first job (docs/benchmarks.md, "Session 6:
 * dedicated cold start"). Tenants with rules of their own still compile theirs on their first submit.
 */
export function warmInputValidation(models: readonly ModelDefinition[]): void {
  for (const model of models) compiled(model, {});
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
    const rest = keys.slice(i);
    const dflt = ownChild(node, 'default');
    const obj = rest.length > 1 ? getPath(dflt, rest.slice(0, -1).join('.')) : dflt;
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) continue;
    edit(obj as Record<string, unknown>, rest[rest.length - 1]!);
  }
}

/** Freezes a JSON value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}

function clamp(v: number, min: number | undefined, max: number | undefined): number {
  return Math.min(max ?? Infinity, Math.max(min ?? -Infinity, v));
}
