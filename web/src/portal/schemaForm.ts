import type { ErrorSchema, RJSFValidationError, UiSchema } from '@rjsf/utils';
import type { FieldError, JsonSchema } from '../../../src/client/index.ts';
import { describeFraction, formatPercent } from './percent.ts';

type Schema = { [key: string]: unknown };

function isObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schema as the form validates it. `$schema` is dropped because the browser-side Ajv is
 * draft-07 and the server, which validates again, is the authority on dialect details.
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

/** Puts each field's `x-unit` into its label ("Discount rate (%)"), so the unit is read out with the field. */
export function uiSchemaFor(schema: Schema): UiSchema {
  const ui: UiSchema = {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const [name, child] of Object.entries(properties)) {
    if (!isObject(child)) continue;
    const entry: UiSchema = child.type === 'object' ? uiSchemaFor(child) : {};
    const unit = child['x-unit'];
    if (typeof unit === 'string' && unit)
      entry['ui:title'] = `${child.title ?? name} (${UNIT_LABELS[unit] ?? unit})`;
    if (isObject(child.items)) {
      const itemUi = uiSchemaFor(child.items);
      if (Object.keys(itemUi).length > 0) entry.items = itemUi;
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

/**
 * Ajv's terse messages (`must be <= 1`) in words a user acts on, and a rate's limits as percentages
 * (`must be at most 100 %`), the unit the user types them in.
 */
export function friendlyErrorsFor(schema: Schema): (errors: RJSFValidationError[]) => RJSFValidationError[] {
  return (errors) =>
    errors.map((original) => {
      const rate = fieldAt(schema, original.property)?.['x-unit'] === 'fraction';
      const error = rewrite(original, rate);
      // The list above the form shows `stack` ("'Title' must be <= 1"): keep it in step with the inline message.
      const stack =
        original.message && error.message && original.stack.endsWith(original.message)
          ? original.stack.slice(0, -original.message.length) + error.message
          : original.stack;
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
