import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  isStorageFull,
  RateLimitedError,
  SilopoolError,
  StorageFullError,
  TenantSettingsError,
} from '../core/errors.ts';
import { problemFor } from './problem-audience.ts';

const TYPE_BASE = 'https://silopool.dev/problems/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: unknown;
  [extra: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

/** Seconds a client waits before sending again while the disk is full: an operator has to free space. */
const STORAGE_FULL_RETRY_AFTER_SEC = 60;

export function problem(
  status: number,
  code: string,
  detail: string,
  extra?: Record<string, unknown>,
): Problem {
  return { type: TYPE_BASE + code, title: TITLES[status] ?? 'Error', status, detail, code, ...extra };
}

/** Fastify's own errors (body parsing, size, content type) mapped to stable problem codes. */
function fromFastifyError(error: FastifyError): Problem | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem(413, 'body_too_large', 'The request body is larger than the server accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem(415, 'unsupported_media_type', 'Send the body as application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem(400, 'invalid_json', 'The body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem(400, 'invalid_json', `The body is not valid JSON: ${error.message}`);
    case 'FST_ERR_VALIDATION': {
      const errors = (error.validation ?? []).map((v) => {
        const path = `/${error.validationContext ?? 'body'}${v.instancePath}`;
        const extra = (v.params as { additionalProperty?: unknown }).additionalProperty;
        // Name the unknown field itself, as the settings and input checks do.
        return v.keyword === 'additionalProperties' && typeof extra === 'string'
          ? {
              path: `${path}/${extra.replace(/~/g, '~0').replace(/\//g, '~1')}`,
              message: 'is not a field of this request',
              rule: v.keyword,
            }
          : v.keyword === 'enum'
            ? // Ajv's own words ("must be equal to one of the allowed values") do not say which.
              {
                path,
                message: `must be one of: ${((v.params as { allowedValues?: unknown[] }).allowedValues ?? []).join(', ')}`,
                rule: v.keyword,
              }
            : { path, message: v.message ?? 'is not valid', rule: v.keyword };
      });
      // The detail names the first field as `errors` does (`/body/growth must be >= 1`): Fastify's own
      // message drops the slash (`body/growth must be >= 1`), a path no other answer spells that way.
      const first = errors[0];
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
      const detail = first ? `${first.path} ${first.message}${more}` : error.message;
      return problem(400, 'validation_failed', detail, { errors });
    }
  }
  if (error instanceof SyntaxError || (error as { type?: string }).type === 'entity.parse.failed') {
    return problem(400, 'invalid_json', `The body is not valid JSON: ${error.message}`);
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return problem(error.statusCode, 'bad_request', error.message);
  }
  return undefined;
}

export function toProblem(error: unknown): Problem {
  if (error instanceof SilopoolError) {
    const extra: Record<string, unknown> = { ...(error.details ?? {}) };
    return problem(error.status, error.code, error.message, extra);
  }
  const mapped = fromFastifyError(error as FastifyError);
  if (mapped) return mapped;
  return problem(500, 'internal', 'Something went wrong on our side; the error is logged.');
}

/**
 * A full disk (or quota) anywhere under a request, however the error was wrapped, is a 507 with
 * `Retry-After`: the client did nothing wrong and the same request works once space is freed. A refusal
 * for the client's own fault (a 4xx) stays what it is.
 */
function storageFullOr(error: unknown): unknown {
  if (error instanceof StorageFullError || !isStorageFull(error)) return error;
  if (error instanceof SilopoolError && error.status < 500) return error;
  return new StorageFullError(STORAGE_FULL_RETRY_AFTER_SEC, { cause: error });
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, raised: unknown): FastifyReply {
  const error = storageFullOr(raised);
  const body = toProblem(error);
  body.instance = request.url;
  // The full error is logged below; what the caller reads depends on who it is (problem-audience.ts).
  const shown = problemFor(body, request.principal?.roles.has('operator') ? 'operator' : 'tenant');
  // Settings that fail their schema are reported at startup; each refused request is a warning, not a fault.
  if (error instanceof TenantSettingsError)
    request.log.warn({ code: body.code, errors: error.problems }, body.detail);
  else if (body.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.code, status: body.status }, body.detail);
  if (error instanceof RateLimitedError) {
    reply.headers(error.headers).header('retry-after', String(error.retryAfterSec));
  }
  if (error instanceof StorageFullError) reply.header('retry-after', String(error.retryAfterSec));
  return reply.code(body.status).type('application/problem+json').send(shown);
}

/** What every error answer is, as the OpenAPI document describes it (RFC 9457 with a stable `code`). */
const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'code'],
  additionalProperties: true,
  properties: {
    type: { type: 'string', description: 'https://silopool.dev/problems/{code}' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string', description: 'What happened and what to change' },
    code: { type: 'string', description: 'Stable: test this, not the words' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      description: 'For bad input: every bad field, by JSON pointer (`/input/discountRate`)',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' }, rule: { type: 'string' } },
      },
    },
  },
} as const;

type OpenApiDocument = {
  components?: { schemas?: Record<string, unknown> } & Record<string, unknown>;
  paths?: Record<string, Record<string, { responses?: Record<string, unknown> } | unknown>>;
} & Record<string, unknown>;

/**
 * The OpenAPI document with the error answers every operation can give: a `default` response of
 * `application/problem+json`, so a generated client knows the shape of a 4xx or 5xx as well as of a 2xx.
 */
export function withProblemResponses<T extends OpenApiDocument>(document: T): T {
  const problem = {
    description: 'An error: `application/problem+json` (RFC 9457) with a stable `code`',
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
  const paths = Object.fromEntries(
    Object.entries(document.paths ?? {}).map(([path, operations]) => [
      path,
      Object.fromEntries(
        Object.entries(operations).map(([method, operation]) => {
          if (typeof operation !== 'object' || operation === null || !('responses' in operation))
            return [method, operation];
          const responses = (operation as { responses?: Record<string, unknown> }).responses ?? {};
          return [
            method,
            { ...operation, responses: { ...responses, default: responses.default ?? problem } },
          ];
        }),
      ),
    ]),
  );
  return {
    ...document,
    components: {
      ...document.components,
      schemas: { ...document.components?.schemas, Problem: PROBLEM_SCHEMA },
    },
    paths,
  };
}
