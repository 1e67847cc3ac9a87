import type { Schema } from '@cfworker/json-schema';
import {
  ANY_OF_KEY,
  type CustomValidator,
  createErrorHandler,
  type ErrorSchema,
  type ErrorTransformer,
  getByPath,
  getDefaultFormState,
  getUiOptions,
  ONE_OF_KEY,
  PROPERTIES_KEY,
  type RJSFSchema,
  type RJSFValidationError,
  ROOT_SCHEMA_PREFIX,
  toErrorSchema,
  toPath,
  type UiSchema,
  unwrapErrorHandler,
  type ValidationData,
  type ValidatorType,
  validationDataMerge,
  withIdRefPrefix,
} from '@rjsf/utils';
import {
  checkData,
  isValidData,
  type PreparedSchema,
  prepareSchema,
  type SchemaError,
} from './schemaErrors.ts';

type FormData = unknown;

/**
 * @rjsf's validator for the portal's form, interpreting the schema with @cfworker/json-schema instead of
 * compiling it to a function as @rjsf/validator-ajv8 does: the app's Content-Security-Policy has no
 * `'unsafe-eval'`. Errors come out as @rjsf/validator-ajv8 makes them (its `processRawValidationErrors`
 * and `transformRJSFValidationErrors`, 6.11.1, ported): same names, properties, params, messages, titles
 * and error schema, so `transformErrors` (schemaForm.ts `friendlyErrorsFor`) and `customValidate` see the
 * same input. Formats are those cfworker knows, the server's (ajv-formats) for the formats models use.
 */
export class InterpretingValidator implements ValidatorType<FormData, RJSFSchema> {
  /** Prepared copies by schema object: @rjsf passes the same root schema on every keystroke. */
  private prepared = new WeakMap<object, PreparedSchema>();
  /** Root schemas' lookups, the root registered as `ROOT_SCHEMA_PREFIX` for subschemas' `$ref`s. */
  private roots = new WeakMap<object, PreparedSchema['lookup']>();

  reset(): void {
    this.prepared = new WeakMap();
    this.roots = new WeakMap();
  }

  private prepare(schema: RJSFSchema): PreparedSchema {
    let prepared = this.prepared.get(schema);
    if (!prepared) {
      prepared = prepareSchema(schema as Schema);
      this.prepared.set(schema, prepared);
    }
    return prepared;
  }

  rawValidation<Result = SchemaError>(
    schema: RJSFSchema,
    formData?: FormData,
  ): { errors?: Result[]; validationError?: Error } {
    try {
      const { valid, errors } = checkData(this.prepare(schema), formData);
      return { errors: valid ? undefined : (errors as Result[]) };
    } catch (error) {
      return { validationError: error as Error };
    }
  }

  validateFormData(
    formData: FormData | undefined,
    schema: RJSFSchema,
    customValidate?: CustomValidator<FormData, RJSFSchema>,
    transformErrors?: ErrorTransformer<FormData, RJSFSchema>,
    uiSchema?: UiSchema<FormData, RJSFSchema>,
  ): ValidationData<FormData> {
    const { errors: raw, validationError } = this.rawValidation<SchemaError>(schema, formData);
    let errors = filterDuplicateErrors(toRjsfErrors(raw ?? [], uiSchema, schema));
    if (validationError) errors = [...errors, { stack: validationError.message }];
    if (typeof transformErrors === 'function') errors = transformErrors(errors, uiSchema);
    let errorSchema = toErrorSchema<FormData>(errors);
    if (validationError) {
      const schemaErrors = { $schema: { __errors: [validationError.message] } };
      errorSchema = { ...errorSchema, ...schemaErrors } as ErrorSchema<FormData>;
    }
    if (typeof customValidate !== 'function') return { errors, errorSchema };
    // Custom validation sees every field, the empty ones as undefined (as with @rjsf/validator-ajv8).
    const filled = getDefaultFormState<FormData, RJSFSchema>(this, schema, formData, schema, true);
    const handler = customValidate(filled, createErrorHandler<FormData>(filled), uiSchema, errorSchema);
    return validationDataMerge<FormData>({ errors, errorSchema }, unwrapErrorHandler<FormData>(handler));
  }

  /** Whether `formData` fits `schema`, a part of `rootSchema` whose `$ref`s point into the root. */
  isValid(schema: RJSFSchema, formData: FormData | undefined, rootSchema: RJSFSchema): boolean {
    try {
      let root = this.roots.get(rootSchema);
      if (!root) {
        root = prepareSchema({ ...(rootSchema as Schema), $id: ROOT_SCHEMA_PREFIX }).lookup;
        this.roots.set(rootSchema, root);
      }
      return isValidData(prepareSchema(withIdRefPrefix<RJSFSchema>(schema) as Schema, root), formData);
    } catch (error) {
      // As @rjsf/validator-ajv8: a schema that cannot be used matches nothing.
      console.warn('Error encountered validating against schema:', error);
      return false;
    }
  }
}

/** The portal's one validator (its caches are keyed by schema object, so sharing it is safe). */
export const formValidator = new InterpretingValidator();

/**
 * Ajv-shaped errors → @rjsf's, with the field's title from the uiSchema or the schema (in `title`, and in
 * `stack` or, for a missing property, in the message), as `transformRJSFValidationErrors` does.
 */
function toRjsfErrors(
  errors: SchemaError[],
  uiSchema: UiSchema<FormData, RJSFSchema> | undefined,
  schema: RJSFSchema,
): RJSFValidationError[] {
  const uiTitleAt = (path: (string | number)[]) =>
    getUiOptions<FormData, RJSFSchema>(getByPath<UiSchema<FormData, RJSFSchema> | undefined>(uiSchema, path))
      .title;
  return errors.map((e) => {
    const { keyword, params, schemaPath, parentSchema } = e;
    let { message } = e;
    let property = e.instancePath.replace(/\//g, '.');
    let stack = `${property} ${message}`.trim();
    let title = '';
    const named = [params.missingProperty, params.property].filter(
      (p): p is string => typeof p === 'string' && p !== '',
    );
    const parts = property.replace(/^\./, '').split('.').filter(Boolean);
    if (named.length > 0) {
      for (const name of named) {
        const uiSchemaPath = schemaPath
          .replace(/\/properties\//g, '/')
          .split('/')
          .slice(1, -1)
          .concat([name]);
        const found =
          uiTitleAt(toPath(property ? `${property}.${name}` : name)) ??
          uiTitleAt(uiSchemaPath) ??
          getByPath<string | undefined>(uiSchema, [...parts, name, 'title']) ??
          getByPath<string | undefined>(parentSchema, [PROPERTIES_KEY, name, 'title']) ??
          getByPath<string | undefined>(schema, [
            ...parts.flatMap((p) => [PROPERTIES_KEY, p]),
            PROPERTIES_KEY,
            name,
            'title',
          ]);
        if (found) {
          message = message.replace(`'${name}'`, `'${found}'`);
          title = found;
        }
      }
      stack = message;
    } else {
      const found = uiTitleAt(toPath(property)) ?? (parentSchema?.title as string | undefined);
      if (found) {
        stack = `'${found}' ${message}`.trim();
        title = found;
      }
    }
    if ('missingProperty' in params) {
      property = property ? `${property}.${params.missingProperty}` : String(params.missingProperty);
    }
    return { name: keyword, property, message, params, stack, schemaPath, title };
  });
}

/**
 * Drops an error whose message an earlier error of the same `anyOf`/`oneOf` already gave (each branch
 * reports "must be number"), as @rjsf/validator-ajv8's `filterDuplicateErrors` does by default.
 */
function filterDuplicateErrors(errors: RJSFValidationError[]): RJSFValidationError[] {
  return errors.reduce<RJSFValidationError[]>((kept, e) => {
    const path = e.schemaPath ?? '';
    const at = [path.indexOf(`/${ANY_OF_KEY}/`), path.indexOf(`/${ONE_OF_KEY}/`)].find((i) => i > 0);
    const prefix = at === undefined ? undefined : path.slice(0, at);
    const duplicate =
      prefix !== undefined &&
      kept.some((k) => k.message === e.message && (k.schemaPath ?? '').startsWith(prefix));
    if (!duplicate) kept.push(e);
    return kept;
  }, []);
}
