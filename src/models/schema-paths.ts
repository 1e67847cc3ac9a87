import type { JsonSchema } from './types.ts';

/** The property schema a dotted rule path (`loan.annualRate`) names, with the object schema holding it. */
export interface PropertyLocation {
  parent: JsonSchema;
  key: string;
  node: JsonSchema;
}

export function locateProperty(schema: JsonSchema, dotted: string): PropertyLocation | undefined {
  const keys = dotted.split('.');
  let parent = schema;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const props = parent['properties'] as Record<string, JsonSchema> | undefined;
    const node = props?.[key];
    if (!node) return undefined;
    if (i === keys.length - 1) return { parent, key, node };
    parent = node;
  }
  return undefined;
}

export function getPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const key of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function hasPath(obj: unknown, dotted: string): boolean {
  const keys = dotted.split('.');
  const last = keys.pop()!;
  const parent = keys.length ? getPath(obj, keys.join('.')) : obj;
  return (
    parent !== null && typeof parent === 'object' && !Array.isArray(parent) && Object.hasOwn(parent, last)
  );
}

/** Sets a value; a missing parent object is left missing (a fixed `loan.annualRate` does not create a loan). */
export function setPathIfParentExists(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const last = keys.pop()!;
  const parent = keys.length ? getPath(obj, keys.join('.')) : obj;
  if (parent !== null && typeof parent === 'object' && !Array.isArray(parent)) {
    (parent as Record<string, unknown>)[last] = value;
  }
}

export function deletePath(obj: unknown, dotted: string): void {
  const keys = dotted.split('.');
  const last = keys.pop()!;
  const parent = keys.length ? getPath(obj, keys.join('.')) : obj;
  if (parent !== null && typeof parent === 'object') delete (parent as Record<string, unknown>)[last];
}

/** `loan.annualRate` → `/input/loan/annualRate`. */
export function inputPointer(dotted: string): string {
  return `/input/${dotted.split('.').join('/')}`;
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
