import { locateProperty } from '../schema-paths.ts';
import type { JsonSchema } from '../types.ts';
import type { Validation } from './cells.ts';

/** What an input cell accepts: a validation, or one built from the cell's own address and the other inputs'. */
export type Accepts =
  | DistributiveOmit<Validation, 'ref'>
  | ((cell: string, refs: Readonly<Record<string, string>>) => DistributiveOmit<Validation, 'ref'>);

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** A reference as a data validation formula on the same sheet writes it: `'Inputs'!$B$9` → `$B$9`. */
export const local = (ref: string): string => ref.slice(ref.lastIndexOf('!') + 1);

/**
 * Excel data validation for a number field: exactly the bounds of its schema (`path` a dotted field path,
 * `items` for the elements of an array field), so a value Excel lets through is one the API accepts.
 * Excel's "between" is inclusive, so an exclusive bound (a principal or a commitment above 0) is a custom
 * formula; so is a cross-field condition (`also`, given the cell and the other inputs' references).
 */
export function acceptsField(
  schema: JsonSchema,
  path: string,
  opts: {
    items?: boolean;
    allowBlank?: boolean;
    max?: number;
    also?: (cell: string, refs: Readonly<Record<string, string>>) => { formula: string; message: string };
  } = {},
): Accepts {
  const located = locateProperty(schema, path)?.node;
  const node = numberSchema(opts.items ? itemsOf(located) : located);
  if (!node) throw new Error(`no number field ${path}${opts.items ? '[]' : ''} in the schema`);
  const whole = node['type'] === 'integer';
  const lo = boundOf(node, 'minimum', 'exclusiveMinimum', path);
  const hi = boundOf(node, 'maximum', 'exclusiveMaximum', path);
  if (opts.max !== undefined && opts.max < hi.v) Object.assign(hi, { v: opts.max, open: false });
  const range = `${lo.open ? 'above' : 'from'} ${lo.v} ${hi.open ? 'and below' : 'to'} ${hi.v}`;
  const rule = typeof node['x-rule'] === 'string' ? ` (tenant rule: ${node['x-rule']})` : '';
  const message = `The model accepts ${whole ? 'whole numbers ' : ''}${range} here${rule}.`;
  const blank = opts.allowBlank ? { allowBlank: true } : {};
  const also = opts.also;
  if (!lo.open && !hi.open && !also)
    return { kind: whole ? 'whole' : 'decimal', min: lo.v, max: hi.v, message, ...blank };
  return (cell, refs) => {
    const extra = also?.(cell, refs);
    const conditions = [
      `ISNUMBER(${cell})`,
      `${cell}${lo.open ? '>' : '>='}${lo.v}`,
      `${cell}${hi.open ? '<' : '<='}${hi.v}`,
      ...(whole ? [`${cell}=INT(${cell})`] : []),
      ...(extra ? [extra.formula] : []),
    ];
    return {
      kind: 'custom',
      formula: `AND(${conditions.join(',')})`,
      message: extra ? `${message} ${extra.message}` : message,
      ...blank,
    };
  };
}

/**
 * The bound a number schema puts on one side. A tenant's range (`rules.ts` `schemaForTenant`) narrows
 * `minimum`/`maximum` and leaves the model's `exclusiveMinimum`/`exclusiveMaximum`, so a node may carry
 * both: the tighter one is the bound (an exclusive one at the same value wins, as Ajv reads them).
 */
function boundOf(
  node: JsonSchema,
  inclusive: 'minimum' | 'maximum',
  exclusive: 'exclusiveMinimum' | 'exclusiveMaximum',
  path: string,
): { v: number; open: boolean } {
  const closed = node[inclusive];
  const open = node[exclusive];
  const tighter = (a: number, b: number) => (inclusive === 'minimum' ? a > b : a < b);
  if (typeof open === 'number' && (typeof closed !== 'number' || !tighter(closed, open)))
    return { v: open, open: true };
  if (typeof closed === 'number') return { v: closed, open: false };
  throw new Error(`${path} has no ${inclusive} in the schema`);
}

/** The number branch of a field (`revenueGrowth` is a number or an array of them). */
function numberSchema(node: JsonSchema | undefined): JsonSchema | undefined {
  if (!node) return undefined;
  if (node['type'] === 'number' || node['type'] === 'integer') return node;
  const branches = node['anyOf'] as JsonSchema[] | undefined;
  return branches?.find((b) => b['type'] === 'number' || b['type'] === 'integer');
}

/** The element schema of an array field (or of the array branch of `anyOf`). */
function itemsOf(node: JsonSchema | undefined): JsonSchema | undefined {
  const array =
    node?.['type'] === 'array'
      ? node
      : (node?.['anyOf'] as JsonSchema[] | undefined)?.find((b) => b['type'] === 'array');
  return array?.['items'] as JsonSchema | undefined;
}

/** The enum of a field as an Excel list validation. */
export function acceptsEnum(schema: JsonSchema, path: string, message: string): Accepts {
  const node = locateProperty(schema, path)?.node;
  const values = node?.['enum'];
  if (!node || !Array.isArray(values)) throw new Error(`no enum field ${path} in the schema`);
  // A tenant's range on a numeric enum (periodsPerYear 4 only) leaves the values within it.
  const within = (v: unknown) =>
    typeof v !== 'number' ||
    ((typeof node['minimum'] !== 'number' || v >= node['minimum']) &&
      (typeof node['maximum'] !== 'number' || v <= node['maximum']));
  return { kind: 'list', values: (values as (string | number)[]).filter(within), message };
}

/**
 * Whether the tenant's rules fix the field at `path`: `schemaForTenant` removes a fixed field (or the
 * object holding it) from the tenant's schema, and the API refuses any value for it.
 */
export function fixedByTenant(schema: JsonSchema, path: string): boolean {
  return locateProperty(schema, path) === undefined;
}
