import type { ErrorSchema, RJSFValidationError, UiSchema } from '@rjsf/utils';
import type { FieldError, JsonSchema } from '../../../src/client/index.ts';
import { describeFraction, formatPercent } from './percent.ts';

type Schema = { [key: string]: unknown };

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schema as the form validates it. `$schema` and `$id` are dropped: the form validates as draft-07
 * (formValidator.ts), the server's dialect, and the server, which validates again, is the authority.
 */
export function formSchema(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return nameChoices(rest);
}

const CHOICE_TITLES: Record<string, string> = {
  number: 'One value',
  integer: 'One value',
  array: 'A value per period',
};

/** Annotations a number inside a field inherits from it (a rate's unit and warning threshold). */
const INHERITED = ['x-unit', 'x-warn-above'] as const;

function inherit(parent: Schema, child: Schema): Schema {
  const out = { ...child };
  for (const key of INHERITED)
    if (parent[key] !== undefined && out[key] === undefined) out[key] = parent[key];
  if (isObject(out.items)) out.items = inherit(parent, out.items);
  return out;
}

/**
 * Gives untitled `anyOf`/`oneOf` choices a readable name (@rjsf would show "option 1" otherwise), and
 * passes a field's unit down to its choices and array items, whose inputs @rjsf renders on their own.
 */
function nameChoices(schema: Schema): Schema {
  const out: Schema = { ...schema };
  for (const key of ['anyOf', 'oneOf'] as const) {
    const choices = schema[key];
    if (Array.isArray(choices)) {
      out[key] = choices.map((c: unknown) => {
        if (!isObject(c)) return c;
        const named =
          !c.title && typeof c.type === 'string' && CHOICE_TITLES[c.type]
            ? { ...c, title: CHOICE_TITLES[c.type] }
            : c;
        return inherit(schema, named);
      });
    }
  }
  if (isObject(schema.items)) out.items = inherit(schema, schema.items);
  if (isObject(schema.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, isObject(v) ? nameChoices(v) : v]),
    );
  }
  return out;
}

/** How a unit reads in a label: rates are typed as percentages. */
const UNIT_LABELS: Record<string, string> = { fraction: '%', multiple: '×' };

const unitSuffix = (schema: Schema): string => {
  const unit = schema['x-unit'];
  return typeof unit === 'string' && unit ? ` (${UNIT_LABELS[unit] ?? unit})` : '';
};

/**
 * What one item of an array is called: the items' own title, else the array's title without its article
 * ("A value per period" → "Value per period"), else the field's. Item 2 is then "Value per period 2".
 */
export function itemNameOf(array: Schema, fieldTitle: string): string {
  const items = isObject(array.items) ? array.items : {};
  if (typeof items.title === 'string' && items.title) return items.title;
  const own = typeof array.title === 'string' ? array.title.replace(/^(a|an|the)\s+/i, '') : '';
  const name = own || fieldTitle;
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** The array schemas of a field: itself, or the array choices of its `anyOf`/`oneOf`. */
function arraysOf(schema: Schema): Schema[] {
  if (schema.type === 'array') return [schema];
  return (['anyOf', 'oneOf'] as const).flatMap((key) =>
    Array.isArray(schema[key])
      ? (schema[key] as unknown[]).filter(isObject).filter((c) => c.type === 'array')
      : [],
  );
}

/**
 * Puts each field's `x-unit` into its label ("Discount rate (%)"), so the unit is read out with the field,
 * and names every array item by its position ("Value per period 2 (%)" instead of @rjsf's "A value per
 * period-2"); the item's buttons take their names from it ("Remove value per period 2").
 */
export function uiSchemaFor(schema: Schema): UiSchema {
  const ui: UiSchema = {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const [name, child] of Object.entries(properties)) {
    if (!isObject(child)) continue;
    const entry: UiSchema = child.type === 'object' ? uiSchemaFor(child) : {};
    const title = typeof child.title === 'string' ? child.title : name;
    if (unitSuffix(child)) entry['ui:title'] = `${title}${unitSuffix(child)}`;
    // A choice's array shares the field's uiSchema (@rjsf passes it to the chosen branch), so one
    // `items` serves both a plain array and an array choice.
    const array = arraysOf(child)[0];
    if (array) {
      const items = inherit(child, isObject(array.items) ? array.items : {});
      const itemUi = items.type === 'object' ? uiSchemaFor(items) : {};
      const itemName = itemNameOf(array, title);
      entry.items = (_item: unknown, index: number): UiSchema => ({
        ...itemUi,
        'ui:title': `${itemName} ${index + 1}${unitSuffix(items)}`,
      });
    }
    if (Object.keys(entry).length > 0) ui[name] = entry;
  }
  return ui;
}

/** The schema of the field at an Ajv instance path (`.loan.annualRate`, `.revenueGrowth.0`), with inherited units. */
function fieldAt(schema: Schema, property: string | undefined): Schema | undefined {
  let node: Schema | undefined = schema;
  for (const segment of (property ?? '').split('.').filter(Boolean)) {
    if (!node) return undefined;
    const properties: unknown = node.properties;
    if (isObject(properties) && Object.hasOwn(properties, segment) && isObject(properties[segment])) {
      node = properties[segment] as Schema;
    } else if (/^\d+$/.test(segment)) {
      const items = isObject(node.items) ? node.items : undefined;
      node = inherit(node, items ?? {});
    } else return undefined;
  }
  return node;
}

/** The name a person knows a field by at an Ajv path (`.revenueGrowth.1` → "Value per period 2"). */
export function labelAt(schema: Schema, property: string | undefined): string | undefined {
  let node: Schema | undefined = schema;
  let label: string | undefined;
  for (const segment of (property ?? '').split('.').filter(Boolean)) {
    if (!node) return label;
    const properties: unknown = node.properties;
    if (isObject(properties) && Object.hasOwn(properties, segment) && isObject(properties[segment])) {
      node = properties[segment] as Schema;
      const title = typeof node.title === 'string' ? node.title : segment;
      label = label ? `${label}: ${title}` : title;
    } else if (/^\d+$/.test(segment)) {
      const array: Schema | undefined = arraysOf(node)[0];
      if (!array) return label;
      const name = itemNameOf(array, label ?? '');
      label = `${name} ${Number(segment) + 1}`;
      node = isObject(array.items) ? array.items : undefined;
    } else return label;
  }
  return label;
}

/**
 * Ajv's terse messages (`must be <= 1`) in words a user acts on, and a rate's limits as percentages
 * (`must be at most 100 %`), the unit the user types them in.
 */
export function friendlyErrorsFor(schema: Schema): (errors: RJSFValidationError[]) => RJSFValidationError[] {
  return (errors) =>
    errors.map((original) => {
      const rate = fieldAt(schema, original.property)?.['x-unit'] === 'fraction';
      const error = rewrite(original, rate);
      // The summary above the form shows `stack`: the field's name and the inline message ("Discount
      // rate (WACC) is required"), never a bare "is required" the user cannot place.
      const label = labelAt(schema, original.property);
      const stack = label && error.message ? `${label} ${error.message}` : original.stack;
      return { ...error, stack };
    });
}

function rewrite(error: RJSFValidationError, rate: boolean): RJSFValidationError {
  const params = (error.params ?? {}) as { limit?: number };
  const limit = rate && typeof params.limit === 'number' ? formatPercent(params.limit) : params.limit;
  switch (error.name) {
    case 'minimum':
      return { ...error, message: `must be at least ${limit}` };
    case 'maximum':
      return { ...error, message: `must be at most ${limit}` };
    case 'exclusiveMinimum':
      return { ...error, message: `must be greater than ${limit}` };
    case 'exclusiveMaximum':
      return { ...error, message: `must be less than ${limit}` };
    case 'required':
      return { ...error, message: 'is required' };
    case 'type':
      return rate ? { ...error, message: 'must be a rate: type 5, 5 % or 0.05 for 5 %' } : error;
    default:
      return error;
  }
}

/**
 * Turns the server's field problems (`/input/loan/annualRate`) into @rjsf's error schema so
 * they show next to their fields; problems outside `prefix` stay in the banner only.
 */
export function errorSchemaFrom(errors: FieldError[] | undefined, prefix = '/input'): ErrorSchema {
  // Null-prototype nodes and own-property reads: a path segment from the server is only ever a key.
  const root: Schema = Object.create(null);
  for (const error of errors ?? []) {
    if (!error.path.startsWith(prefix)) continue;
    const segments = error.path
      .slice(prefix.length)
      .split('/')
      .filter(Boolean)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node = root;
    for (const segment of segments) {
      if (!Object.hasOwn(node, segment) || !isObject(node[segment])) node[segment] = Object.create(null);
      node = node[segment] as Schema;
    }
    const list = Array.isArray(node.__errors) ? (node.__errors as string[]) : [];
    node.__errors = [...list, error.message];
  }
  return root as ErrorSchema;
}

/** A value past its field's `x-warn-above`: most often a percentage typed as a fraction (5 for 5 %). */
export interface ImplausibleValue {
  path: string;
  label: string;
  value: number;
  limit: number;
  message: string;
}

/**
 * The values of `data` above their field's `x-warn-above` (the API warns at the same threshold): asked
 * for confirmation before submitting. Walks the schema's own properties, array items and number choices.
 */
export function implausibleValues(schema: Schema, data: unknown, path = '', label = ''): ImplausibleValue[] {
  if (typeof data === 'number') {
    const limit = schema['x-warn-above'];
    if (typeof limit !== 'number' || !(data > limit)) return [];
    const fraction = schema['x-unit'] === 'fraction';
    const shown = (x: number) => (fraction ? describeFraction(x) : String(x));
    return [
      {
        path,
        label,
        value: data,
        limit,
        message: `${label} is ${shown(data)}, above ${shown(limit)}.`,
      },
    ];
  }
  if (Array.isArray(data)) {
    const items = isObject(schema.items) ? schema.items : schema;
    return data.flatMap((x, i) =>
      implausibleValues(inherit(schema, items), x, `${path}/${i}`, `${label}, year ${i + 1}`),
    );
  }
  if (isObject(data) && isObject(schema.properties)) {
    const properties = schema.properties;
    return Object.keys(data).flatMap((key) => {
      const child = Object.hasOwn(properties, key) ? properties[key] : undefined;
      if (!isObject(child)) return [];
      const title = typeof child.title === 'string' ? child.title : key;
      return implausibleValues(child, data[key], `${path}/${key}`, label ? `${label}: ${title}` : title);
    });
  }
  return [];
}
