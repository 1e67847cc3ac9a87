import type { JsonSchema } from './types.ts';

/**
 * Path segments that reach an object's prototype when used as a property key. A rule path may never
 * contain one, and every walker below also reads own properties only, so even a path that slipped past
 * the check resolves to nothing rather than to `Object.prototype`.
 */
export const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The problem with a dotted rule path's spelling (not whether it names a field), or undefined when fine. */
export function rulePathProblem(dotted: string): string | undefined {
  if (dotted.length === 0 || dotted.length > 200) return 'must be a dotted field path of 1-200 characters';
  const segments = dotted.split('.');
  if (segments.some((s) => s.length === 0)) return 'has an empty segment';
  const forbidden = segments.find((s) => FORBIDDEN_SEGMENTS.has(s));
  if (forbidden) return `may not contain the segment "${forbidden}"`;
  return undefined;
}

/** The own property `key` of `obj` when `obj` is a plain (non-array) object; never an inherited one. */
export function ownChild(obj: unknown, key: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  if (FORBIDDEN_SEGMENTS.has(key) || !Object.hasOwn(obj, key)) return undefined;
  return (obj as Record<string, unknown>)[key];
}

/** The property schema a dotted rule path (`loan.annualRate`) names, with the object schema holding it. */
export interface PropertyLocation {
  parent: JsonSchema;
  key: string;
  node: JsonSchema;
}

export function locateProperty(schema: JsonSchema, dotted: string): PropertyLocation | undefined {
  if (rulePathProblem(dotted)) return undefined;
  const keys = dotted.split('.');
  let parent = schema;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const node = ownChild(ownChild(parent, 'properties'), key);
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    if (i === keys.length - 1) return { parent, key, node: node as JsonSchema };
    parent = node as JsonSchema;
  }
  return undefined;
}

export function getPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const key of dotted.split('.')) cur = ownChild(cur, key);
  return cur;
}

/** The plain object that holds the last segment of `dotted`, with that segment; undefined when absent. */
function parentOf(
  obj: unknown,
  dotted: string,
): { parent: Record<string, unknown>; last: string } | undefined {
  if (rulePathProblem(dotted)) return undefined;
  const keys = dotted.split('.');
  const last = keys.pop()!;
  const parent = keys.length ? getPath(obj, keys.join('.')) : obj;
  if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return undefined;
  return { parent: parent as Record<string, unknown>, last };
}

export function hasPath(obj: unknown, dotted: string): boolean {
  const at = parentOf(obj, dotted);
  return at !== undefined && Object.hasOwn(at.parent, at.last);
}

/** Sets a value; a missing parent object is left missing (a fixed `loan.annualRate` does not create a loan). */
export function setPathIfParentExists(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const at = parentOf(obj, dotted);
  // defineProperty, not assignment: an own data property whatever the key, never a prototype setter.
  if (at)
    Object.defineProperty(at.parent, at.last, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

export function deletePath(obj: unknown, dotted: string): void {
  const at = parentOf(obj, dotted);
  if (at && Object.hasOwn(at.parent, at.last)) delete at.parent[at.last];
}

/** `loan.annualRate` → `/input/loan/annualRate`. */
export function inputPointer(dotted: string): string {
  return `/input/${dotted.split('.').map(pointerSegment).join('/')}`;
}

/** One JSON Pointer segment (RFC 6901): `~` and `/` escaped. */
export function pointerSegment(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Applies `fn` to every numeric schema inside `node` (itself, anyOf/oneOf branches, array items). */
export function forEachNumericSchema(node: JsonSchema, fn: (numeric: JsonSchema) => void): void {
  const type = node['type'];
  if (type === 'number' || type === 'integer') fn(node);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = node[key] as JsonSchema[] | undefined;
    for (const b of branches ?? []) forEachNumericSchema(b, fn);
  }
  const items = node['items'] as JsonSchema | undefined;
  if (items && typeof items === 'object') forEachNumericSchema(items, fn);
}
