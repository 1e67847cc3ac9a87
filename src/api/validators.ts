import { Ajv, type Options } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { addFormats } from '../models/rules.ts';

const COMMON: Options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false };

/**
 * Route schemas compiled by two Ajv instances: query strings, path parameters and headers are text, so
 * their values are coerced to the schema's types (`?limit=5` → 5); JSON bodies already carry types, so
 * nothing is coerced there — `"graceSeconds": null` is a 400, not 0, and `{"url": ["https://…"]}` is a
 * 400, not a string. (Fastify's default compiler coerces every part alike.)
 */
export function compileRouteSchemas(app: FastifyInstance): void {
  const text = addFormats(new Ajv({ ...COMMON, coerceTypes: 'array' }));
  const json = addFormats(new Ajv({ ...COMMON, coerceTypes: false }));
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? json : text).compile(schema as object),
  );
}
