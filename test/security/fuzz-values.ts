import fc from 'fast-check';

/** The subset of JSON Schema the API's routes and models use (as served in `/docs/json` and `/v1/models`). */
export type Schema = { [key: string]: unknown };

/**
 * A JSON literal spliced into a body as written, for what `JSON.stringify` cannot say: `1e999`,
 * a 400-digit integer. `jsonText` replaces the marker with the literal.
 */
export function rawLiteral(text: string): string {
  return `\u0001raw:${text}\u0001`;
}

/** JSON text of a generated value, with `rawLiteral` markers spliced in as raw literals. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001raw:([^"\\]*)\\u0001"/g, '$1');
}

/** Strings an attacker tries first: prototype keys, traversal, NUL, numbers in disguise, very long, odd Unicode. */
export const HOSTILE_STRINGS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  '__proto__.polluted',
  'constructor.prototype',
  'hasOwnProperty',
  'toString',
  '../',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '/etc/passwd',
  'tenants/../../x',
  'a\u0000b',
  '\u0000',
  '',
  ' ',
  'NaN',
  '-NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-0',
  '0x1F',
  '1_000',
  '9'.repeat(400),
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '%00',
  '%2e%2e%2f',
  '\uFEFFabc',
  '\u202Eevil',
  '💥'.repeat(50),
  'x'.repeat(5000),
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '$' + '{7*7}',
  '=HYPERLINK("http://x")',
  'j_00000000000000000000000000',
  'sp_x_',
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

/** Numbers beyond what fields allow; `rawLiteral`s for those JSON can spell but a double cannot hold. */
const hostileNumber: fc.Arbitrary<unknown> = fc.constantFrom(
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER - 2,
  1e21,
  -1,
  0,
  0.5,
  5e-324,
  2 ** 31,
  2 ** 32,
  rawLiteral('1e999'),
  rawLiteral('-1e999'),
  rawLiteral(`1${'0'.repeat(400)}`),
  rawLiteral('-0'),
  rawLiteral('1E+2'),
);

/** Any hostile JSON value: strings, numbers, literals, small arrays and objects with prototype keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}, [null]),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true}}') as unknown),
  fc.constant(JSON.parse('{"constructor":{"prototype":{"polluted":true}}}') as unknown),
);

/** Nested arrays and objects 10 to 50 levels deep (a depth cap is another change's; 100k-deep is its test). */
export const deepValue: fc.Arbitrary<unknown> = fc
  .record({ depth: fc.integer({ min: 10, max: 50 }), shape: fc.constantFrom('array', 'object', 'mixed') })
  .map(({ depth, shape }) => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) {
      const asArray = shape === 'array' || (shape === 'mixed' && i % 2 === 0);
      value = asArray ? [value] : { a: value };
    }
    return value;
  });

function typesOf(schema: Schema): string[] {
  if (typeof schema['type'] === 'string') return [schema['type']];
  if (Array.isArray(schema['type'])) return schema['type'] as string[];
  const alternatives = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (alternatives) return alternatives.flatMap(typesOf);
  if (schema['enum']) return [...new Set((schema['enum'] as unknown[]).map((v) => typeof v))];
  return [];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** `YYYY-MM-DD` dates, including ones a calendar does not have (`2025-02-30` is not a `date`). */
const isoDate = fc
  .date({ min: new Date('1900-01-01'), max: new Date('2199-12-31'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

/**
 * Values a schema accepts: bounds themselves and values between, every enum member, optional properties
 * present or not. `overrides` replaces the generator of a property by name (fields whose hostile values
 * another change owns, or a cost cap).
 */
export function validFor(
  schema: Schema,
  overrides: Record<string, fc.Arbitrary<unknown>> = {},
): fc.Arbitrary<unknown> {
  if (Array.isArray(schema['enum'])) return fc.constantFrom(...(schema['enum'] as unknown[]));
  const alternatives = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((s) => validFor(s, overrides)));
  const [type] = typesOf(schema);
  switch (type) {
    case 'integer': {
      const exclusive = num(schema['exclusiveMinimum']);
      const min = num(schema['minimum']) ?? (exclusive !== undefined ? exclusive + 1 : -1e6);
      const max = num(schema['maximum']) ?? 1e9;
      return fc.oneof(fc.constantFrom(min, max), fc.integer({ min, max }));
    }
    case 'number': {
      const exclusive = num(schema['exclusiveMinimum']);
      const min = num(schema['minimum']) ?? (exclusive !== undefined ? exclusive + 1e-6 : -1e9);
      const max = num(schema['maximum']) ?? 1e9;
      return fc.oneof(
        fc.constantFrom(min, max),
        fc.double({ min, max, noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: Math.ceil(Math.max(min, -1e9)), max: Math.floor(Math.min(max, 1e9)) }),
      );
    }
    case 'string': {
      if (typeof schema['pattern'] === 'string') return fc.stringMatching(new RegExp(schema['pattern']));
      if (schema['format'] === 'date') return isoDate;
      const minLength = num(schema['minLength']) ?? 0;
      return fc.string({ minLength, maxLength: Math.min(num(schema['maxLength']) ?? 40, 40) });
    }
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const items = (schema['items'] as Schema | undefined) ?? {};
      return fc.array(validFor(items, overrides), {
        minLength: num(schema['minItems']) ?? 0,
        maxLength: Math.min(num(schema['maxItems']) ?? 5, 30),
      });
    }
    case 'object': {
      const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
      const model = Object.fromEntries(
        Object.entries(properties).map(([key, sub]) => [key, overrides[key] ?? validFor(sub, overrides)]),
      );
      const required = ((schema['required'] ?? []) as string[]).filter((k) => k in properties);
      return fc.record(model, { requiredKeys: required });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Values of every JSON type but the schema's own, and values of its type just outside its bounds. */
export function wrongTypeFor(schema: Schema): fc.Arbitrary<unknown> {
  const types = typesOf(schema);
  const has = (...t: string[]) => t.some((x) => types.includes(x));
  const choices: fc.Arbitrary<unknown>[] = [fc.constant(null)];
  if (!has('string')) choices.push(fc.constantFrom('NaN', '1e999', '12abc', '', '__proto__', '../x'));
  if (!has('number', 'integer')) choices.push(hostileNumber);
  if (has('integer')) choices.push(fc.constantFrom(1.5, -0.5, 1e21));
  if (!has('boolean')) choices.push(fc.boolean());
  if (!has('array')) choices.push(fc.constantFrom([], [1, 'a'], [[[]]]));
  if (!has('object')) choices.push(fc.constantFrom({}, { a: 1 }));
  if (has('number', 'integer')) {
    const below = num(schema['minimum']) ?? num(schema['exclusiveMinimum']);
    const above = num(schema['maximum']);
    if (below !== undefined) choices.push(fc.constant(below - 1));
    if (above !== undefined) choices.push(fc.constant(above + 1));
  }
  if (has('string') && num(schema['maxLength']) !== undefined) {
    choices.push(fc.constant('x'.repeat(num(schema['maxLength'])! + 1)));
  }
  if (Array.isArray(schema['enum'])) choices.push(fc.constantFrom('other', 'SHARED', ' shared'));
  return fc.oneof(...choices);
}

/** JSON paths of every property a schema names, nested objects included (`['input', 'loan', 'termMonths']`). */
export function propertyPaths(schema: Schema, prefix: string[] = []): { path: string[]; schema: Schema }[] {
  const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
  return Object.entries(properties).flatMap(([key, sub]) => [
    { path: [...prefix, key], schema: sub },
    ...propertyPaths(sub, [...prefix, key]),
  ]);
}

/** A copy of `value` with `replacement` at `path`, creating the objects on the way. */
export function setAt(value: unknown, path: readonly string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string, ...string[]];
  const base = value && typeof value === 'object' && !Array.isArray(value) ? value : {};
  const copy: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  // defineProperty: a key `__proto__` becomes a property of the body, not the copy's prototype.
  Object.defineProperty(copy, head, {
    value: setAt(copy[head], rest, replacement),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}
