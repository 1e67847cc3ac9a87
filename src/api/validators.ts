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
  strictQueryStrings(app);
}

/** The query string of an API route that declares none: no parameter at all. */
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

/**
 * Every API route (`/v1/…`) without a query-string schema takes no query parameter: one sent anyway is a 400
 * naming it, not ignored — `GET /v1/billing/usage?month=2026-01` answered this month's figures with a 200,
 * so a reader took them for January's. Routes that take parameters declare them (all with
 * `additionalProperties: false`); the console's pages and the API docs are not API routes.
 */
function strictQueryStrings(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    if (schema.querystring === undefined) route.schema = { ...schema, querystring: NO_QUERY };
  });
}
