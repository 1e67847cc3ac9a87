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
  const bound = (inclusive: string, exclusive: string) => {
    const v = (node[inclusive] ?? node[exclusive]) as number | undefined;
    if (typeof v !== 'number') throw new Error(`${path} has no ${inclusive} in the schema`);
    return { v, open: node[inclusive] === undefined };
  };
  const lo = bound('minimum', 'exclusiveMinimum');
  const hi = bound('maximum', 'exclusiveMaximum');
  if (opts.max !== undefined && opts.max < hi.v) Object.assign(hi, { v: opts.max, open: false });
  const range = `${lo.open ? 'above' : 'from'} ${lo.v} ${hi.open ? 'and below' : 'to'} ${hi.v}`;
  const message = `The model accepts ${whole ? 'whole numbers ' : ''}${range} here.`;
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
  const values = locateProperty(schema, path)?.node['enum'];
  if (!Array.isArray(values)) throw new Error(`no enum field ${path} in the schema`);
  return { kind: 'list', values: values as (string | number)[], message };
}
