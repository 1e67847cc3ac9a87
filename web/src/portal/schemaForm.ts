import type { ErrorSchema, RJSFValidationError, UiSchema } from '@rjsf/utils';
import type { FieldError, JsonSchema } from '../../../src/client/index.ts';

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

/** Gives untitled `anyOf`/`oneOf` choices a readable name; @rjsf would show "option 1" otherwise. */
function nameChoices(schema: Schema): Schema {
  const out: Schema = { ...schema };
  for (const key of ['anyOf', 'oneOf'] as const) {
    const choices = schema[key];
    if (Array.isArray(choices)) {
      out[key] = choices.map((c: unknown) =>
        isObject(c) && !c.title && typeof c.type === 'string' && CHOICE_TITLES[c.type]
          ? { ...c, title: CHOICE_TITLES[c.type] }
          : c,
      );
    }
  }
  if (isObject(schema.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, isObject(v) ? nameChoices(v) : v]),
    );
  }
  return out;
}

/** Puts each field's `x-unit` into its label ("Discount rate (%)"), so the unit is read out with the field. */
export function uiSchemaFor(schema: Schema): UiSchema {
  const ui: UiSchema = {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const [name, child] of Object.entries(properties)) {
    if (!isObject(child)) continue;
    const entry: UiSchema = child.type === 'object' ? uiSchemaFor(child) : {};
    const unit = child['x-unit'];
    if (typeof unit === 'string' && unit) entry['ui:title'] = `${child.title ?? name} (${unit})`;
    if (isObject(child.items)) {
      const itemUi = uiSchemaFor(child.items);
      if (Object.keys(itemUi).length > 0) entry.items = itemUi;
    }
    if (Object.keys(entry).length > 0) ui[name] = entry;
  }
  return ui;
}

/** Ajv's terse messages (`must be <= 1`) in words a user acts on. */
export function friendlyErrors(errors: RJSFValidationError[]): RJSFValidationError[] {
  return errors.map((original) => {
    const error = rewrite(original);
    // The list above the form shows `stack` ("'Title' must be <= 1"): keep it in step with the inline message.
    const stack =
      original.message && error.message && original.stack.endsWith(original.message)
        ? original.stack.slice(0, -original.message.length) + error.message
        : original.stack;
    return { ...error, stack };
  });
}

function rewrite(error: RJSFValidationError): RJSFValidationError {
  const params = (error.params ?? {}) as { limit?: number };
  switch (error.name) {
    case 'minimum':
      return { ...error, message: `must be at least ${params.limit}` };
    case 'maximum':
      return { ...error, message: `must be at most ${params.limit}` };
    case 'exclusiveMinimum':
      return { ...error, message: `must be greater than ${params.limit}` };
    case 'exclusiveMaximum':
      return { ...error, message: `must be less than ${params.limit}` };
    case 'required':
      return { ...error, message: 'is required' };
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
