import { dereference, type OutputUnit, type Schema, validate } from '@cfworker/json-schema';

/**
 * One failed keyword in the shape Ajv reports it (an `ErrorObject` with `verbose`): the server validates
 * inputs with Ajv (src/models/rules.ts), and @rjsf's error list, its messages and the portal's friendlier
 * wording (schemaForm.ts) are built on that shape.
 */
export interface SchemaError {
  keyword: string;
  /** JSON Pointer of the value (`/loan/annualRate`); '' for the whole input. */
  instancePath: string;
  /** Where the keyword sits in the schema, as a URI fragment (`#/properties/loan/required`). */
  schemaPath: string;
  params: Record<string, unknown>;
  message: string;
  /** The schema object holding the keyword. */
  parentSchema?: Schema;
}

type Lookup = Record<string, Schema | boolean>;

/** A private copy of a schema with its `$ref`s resolved, ready to validate against. */
export interface PreparedSchema {
  schema: Schema | boolean;
  lookup: Lookup;
}

/** The draft the server's Ajv applies (its default, draft-07): `$ref` overrides its siblings, as there. */
const DRAFT = '7';

/**
 * Copies `schema` and resolves its references, against `known` schemas too (a form's root schema). The copy
 * is what cfworker reads and marks (it defines `__absolute_uri__` on every subschema), so the caller's
 * schema, which @rjsf keeps and compares, is never changed.
 */
export function prepareSchema(schema: Schema | boolean, known?: Lookup): PreparedSchema {
  const copy = structuredClone(schema);
  const lookup = dereference(copy, Object.assign(Object.create(null) as Lookup, known));
  return { schema: copy, lookup };
}

/**
 * `value` as the JSON a submit sends: a property that is `undefined` is absent (an empty field), an
 * `undefined` array item or whole value is `null`. Ajv reads form data the same way; cfworker refuses
 * `undefined` outright.
 */
export function asJson(value: unknown): unknown {
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(asJson);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = asJson(item);
    return out;
  }
  return value;
}

/**
 * Validates `data` against a prepared schema by interpreting it (no code is generated, so no `eval`: the
 * app's CSP forbids it) and reports every failed keyword as Ajv would. Throws what cfworker throws for a
 * schema it cannot use (an unresolvable `$ref`).
 */
export function checkData(
  prepared: PreparedSchema,
  data: unknown,
): { valid: boolean; errors: SchemaError[] } {
  const json = asJson(data);
  const result = validate(json, prepared.schema, DRAFT, prepared.lookup, false);
  return { valid: result.valid, errors: result.valid ? [] : toSchemaErrors(result.errors, prepared, json) };
}

/** True when `data` is valid; stops at the first failure (@rjsf asks this often, to pick a choice). */
export function isValidData(prepared: PreparedSchema, data: unknown): boolean {
  return validate(asJson(data), prepared.schema, DRAFT, prepared.lookup, true).valid;
}

/**
 * Keywords cfworker reports as a summary before the errors of their subschemas ("Property "x" does not
 * match schema."); Ajv reports only the subschemas' errors.
 */
const SUMMARIES = new Set([
  '$ref',
  '$recursiveRef',
  'properties',
  'patternProperties',
  'additionalProperties',
  'unevaluatedProperties',
  'propertyNames',
  'dependentSchemas',
  'items',
  'prefixItems',
  'additionalItems',
  'unevaluatedItems',
  'allOf',
]);

const COMPARISON: Record<string, string> = {
  minimum: '>=',
  maximum: '<=',
  exclusiveMinimum: '>',
  exclusiveMaximum: '<',
};

const FEWER_OR_MORE: Record<string, [string, string]> = {
  minLength: ['fewer', 'characters'],
  maxLength: ['more', 'characters'],
  minItems: ['fewer', 'items'],
  maxItems: ['more', 'items'],
  minProperties: ['fewer', 'properties'],
  maxProperties: ['more', 'properties'],
};

function toSchemaErrors(units: OutputUnit[], prepared: PreparedSchema, data: unknown): SchemaError[] {
  const out: SchemaError[] = [];
  // cfworker reports one `required` unit per missing property, in the order of the schema's list.
  const requiredSeen = new Map<string, number>();
  for (let i = 0; i < units.length; i++) {
    const unit = units[i]!;
    const instancePath = instancePathOf(unit.instanceLocation);
    if (unit.keyword === 'false') {
      out.push(error(unit, instancePath, undefined, {}, 'boolean schema is false', 'false schema'));
      continue;
    }
    const parent = schemaAt(prepared, parentOf(unit.keywordLocation));
    const next = units[i + 1];
    if (unit.keyword === 'additionalProperties' && parent?.additionalProperties === false && next) {
      // The summary, then a `false` unit at the extra property: Ajv reports one error at the object.
      const additionalProperty = unescapePointer(segmentsOf(next.instanceLocation).at(-1) ?? '');
      out.push(
        error(unit, instancePath, parent, { additionalProperty }, 'must NOT have additional properties'),
      );
      i++;
      continue;
    }
    if (SUMMARIES.has(unit.keyword)) continue;
    if (unit.keyword === 'required' && Array.isArray(parent?.required)) {
      const key = `${unit.instanceLocation} ${unit.keywordLocation}`;
      const n = requiredSeen.get(key) ?? 0;
      requiredSeen.set(key, n + 1);
      const value = valueAt(data, unit.instanceLocation) as Record<string, unknown>;
      const missing = (parent.required as string[]).filter((k) => !Object.hasOwn(value, k));
      const missingProperty = missing[n] ?? '';
      out.push(
        error(
          unit,
          instancePath,
          parent,
          { missingProperty },
          `must have required property '${missingProperty}'`,
        ),
      );
      continue;
    }
    out.push(leafError(unit, instancePath, parent, prepared, data));
  }
  return combinatorsAfterBranches(additionalPropertiesFirst(out));
}

function leafError(
  unit: OutputUnit,
  instancePath: string,
  parent: Schema | undefined,
  prepared: PreparedSchema,
  data: unknown,
): SchemaError {
  const k = unit.keyword;
  const p: Schema = parent ?? {};
  const at = (params: Record<string, unknown>, message: string) =>
    error(unit, instancePath, parent, params, message);
  if (parent && k in COMPARISON) {
    return at({ comparison: COMPARISON[k], limit: p[k] }, `must be ${COMPARISON[k]} ${p[k]}`);
  }
  const sizes = FEWER_OR_MORE[k];
  if (parent && sizes) return at({ limit: p[k] }, `must NOT have ${sizes[0]} than ${p[k]} ${sizes[1]}`);
  switch (k) {
    case 'type': {
      const type = Array.isArray(p.type) ? p.type.join(',') : String(p.type);
      return at({ type }, `must be ${type}`);
    }
    case 'enum':
      return at({ allowedValues: p.enum }, 'must be equal to one of the allowed values');
    case 'const':
      return at({ allowedValue: p.const }, 'must be equal to constant');
    case 'pattern':
      return at({ pattern: p.pattern }, `must match pattern "${p.pattern}"`);
    case 'format':
      return at({ format: p.format }, `must match format "${p.format}"`);
    case 'multipleOf':
      return at({ multipleOf: p.multipleOf }, `must be multiple of ${p.multipleOf}`);
    case 'anyOf':
      return at({}, 'must match a schema in anyOf');
    case 'oneOf': {
      const value = valueAt(data, unit.instanceLocation);
      const passing = ((p.oneOf ?? []) as Schema[]).flatMap((branch, index) =>
        isValidData({ schema: branch, lookup: prepared.lookup }, value) ? [index] : [],
      );
      return at(
        { passingSchemas: passing.length ? passing : null },
        'must match exactly one schema in oneOf',
      );
    }
    case 'not':
      return at({}, 'must NOT be valid');
    case 'if': {
      const failingKeyword = /"else"/.test(unit.error) ? 'else' : 'then';
      return at({ failingKeyword }, `must match "${failingKeyword}" schema`);
    }
    case 'contains':
      return at({ minContains: 1 }, 'must contain at least 1 valid item(s)');
    default:
      // Keywords the models do not use (uniqueItems, dependencies, …): cfworker's own words.
      return at({}, unit.error);
  }
}

function error(
  unit: OutputUnit,
  instancePath: string,
  parentSchema: Schema | undefined,
  params: Record<string, unknown>,
  message: string,
  keyword = unit.keyword,
): SchemaError {
  return { keyword, instancePath, schemaPath: unit.keywordLocation, params, message, parentSchema };
}

/**
 * cfworker puts an `anyOf`/`oneOf`/`if` error before the errors of its branches, Ajv after them: the order
 * decides which error @rjsf lists first and which field it focuses.
 */
function combinatorsAfterBranches(errors: SchemaError[]): SchemaError[] {
  const out = [...errors];
  for (let i = out.length - 1; i >= 0; i--) {
    const combinator = out[i]!;
    const prefixes = branchPrefixes(combinator);
    if (!prefixes) continue;
    let last = i;
    while (last + 1 < out.length && prefixes.some((p) => out[last + 1]!.schemaPath.startsWith(p))) last++;
    out.splice(i, 1);
    out.splice(last, 0, combinator);
  }
  return out;
}

/**
 * Ajv checks an object's `additionalProperties` before its `properties`, cfworker after them: an extra
 * property's error moves ahead of the errors of the same object's declared properties.
 */
function additionalPropertiesFirst(errors: SchemaError[]): SchemaError[] {
  const out = [...errors];
  for (let i = 0; i < out.length; i++) {
    const e = out[i]!;
    const at = e.schemaPath.lastIndexOf('/additionalProperties');
    if (at < 0 || e.keyword !== 'additionalProperties') continue;
    const node = e.schemaPath.slice(0, at);
    const declared = [`${node}/properties/`, `${node}/patternProperties/`];
    let to = i;
    while (to > 0) {
      const before = out[to - 1]!;
      const inside = before.instancePath.startsWith(`${e.instancePath}/`);
      if (!inside || !declared.some((d) => before.schemaPath.startsWith(d))) break;
      to--;
    }
    out.splice(i, 1);
    out.splice(to, 0, e);
  }
  return out;
}

function branchPrefixes(e: SchemaError): string[] | undefined {
  if (e.keyword === 'anyOf' || e.keyword === 'oneOf') return [`${e.schemaPath}/`];
  if (e.keyword === 'if') {
    const parent = parentOf(e.schemaPath);
    return [`${parent}/then`, `${parent}/else`];
  }
  return undefined;
}

/** `#/a~1b/%25` → the pointer's segments, URI-decoded and still JSON-Pointer-escaped (`a~1b`, `%`). */
function segmentsOf(location: string): string[] {
  return location
    .replace(/^#/, '')
    .split('/')
    .slice(1)
    .map((s) => decodeURIComponent(s));
}

const unescapePointer = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');

/** Ajv's `instancePath`: a JSON Pointer without the `#`, segments escaped as JSON Pointer escapes them. */
function instancePathOf(location: string): string {
  return segmentsOf(location)
    .map((s) => `/${s}`)
    .join('');
}

function parentOf(location: string): string {
  return location.slice(0, location.lastIndexOf('/'));
}

function schemaAt(prepared: PreparedSchema, location: string): Schema | undefined {
  let node: unknown = prepared.schema;
  for (const segment of segmentsOf(location).map(unescapePointer)) {
    if (typeof node !== 'object' || node === null) return undefined;
    const schema = node as Schema;
    node =
      segment === '$ref'
        ? prepared.lookup[(schema.__absolute_ref__ as string | undefined) ?? String(schema.$ref)]
        : Object.hasOwn(schema, segment)
          ? (schema as Record<string, unknown>)[segment]
          : undefined;
  }
  return typeof node === 'object' && node !== null ? (node as Schema) : undefined;
}

function valueAt(data: unknown, location: string): unknown {
  let node = data;
  for (const segment of segmentsOf(location).map(unescapePointer)) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}
