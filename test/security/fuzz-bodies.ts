import fc from 'fast-check';
import {
  deepValue,
  hostileValue,
  jsonText,
  propertyPaths,
  type Schema,
  setAt,
  validFor,
  wrongTypeFor,
} from './fuzz-values.ts';

/** One part of a request, as a valid value or a hostile one. */
export interface Part<T> {
  valid: fc.Arbitrary<T>;
  hostile: fc.Arbitrary<T>;
}

const INVALID_JSON = [
  '{',
  '{"a":1,}',
  "{'a':1}",
  '{"a":NaN}',
  'NaN',
  '{"a":1}{"b":2}',
  '[1,2',
  '"unterminated',
  '\u0000',
  'undefined',
  '\uFEFF{}',
  '{"input":{"revenue":1e999}}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":"\\ud800"}',
  '{"a":1,"a":2}',
  '   ',
  'null',
  '123',
  '[]',
  '"x"',
];

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/jsonx',
  'application/problem+json',
  'application/json, text/plain',
  'application/octet-stream',
];

export interface Body {
  text?: string;
  contentType?: string;
}

const json = (value: unknown): Body => ({ text: jsonText(value), contentType: 'application/json' });

/** Bodies that are wrong whatever the route: none, empty, not JSON, the wrong media type, not an object, deep. */
const brokenBody: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({}),
  fc.constant({ text: '', contentType: 'application/json' }),
  fc.constantFrom(...INVALID_JSON).map((text) => ({ text, contentType: 'application/json' })),
  fc.record({
    contentType: fc.constantFrom(...WRONG_CONTENT_TYPES),
    text: fc.constantFrom('{}', 'a=1', '<x/>', ''),
  }),
  fc.oneof(hostileValue, deepValue).map(json),
  // Past the server's body limit (256 KiB).
  fc.constant(json({ input: { notes: 'x'.repeat(300_000) } })),
);

/**
 * Bodies for a schema (none when the route takes none): valid, with `overrides` generating fields by name;
 * hostile: one property of the wrong type or a hostile value, extra keys, deep nesting, broken bodies.
 */
export function bodyFor(
  schema: Schema | undefined,
  overrides: Record<string, fc.Arbitrary<unknown>>,
): Part<Body> {
  if (!schema) return { valid: fc.constant({}), hostile: brokenBody };
  const valid = validFor(schema, overrides);
  const paths = propertyPaths(schema);
  const objectPaths = [[], ...paths.filter((p) => p.schema['type'] === 'object').map((p) => p.path)];
  const mutated: fc.Arbitrary<Body>[] = [brokenBody];
  if (paths.length) {
    const at = fc.constantFrom(...paths);
    mutated.push(
      fc.tuple(valid, at).chain(([v, p]) => wrongTypeFor(p.schema).map((w) => json(setAt(v, p.path, w)))),
      fc.tuple(valid, at, fc.oneof(hostileValue, deepValue)).map(([v, p, h]) => json(setAt(v, p.path, h))),
    );
  }
  const extraKey = fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'extra',
    'revenue',
    'x'.repeat(300),
  );
  mutated.push(
    fc
      .tuple(valid, fc.constantFrom(...objectPaths), extraKey, hostileValue)
      .map(([v, at, key, h]) => json(setAt(v, [...at, key], h))),
  );
  return { valid: valid.map(json), hostile: fc.oneof(...mutated) };
}
