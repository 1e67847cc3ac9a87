import { SilopoolError } from './errors.ts';

/** What a job's record says of a failed attempt: a stable code and a message fit for its tenant. */
export interface Failure {
  code: string;
  /** Safe for the tenant: the typed error's own message, or a fixed sentence for anything else. */
  message: string;
  /**
   * The raw cause (an OS, SDK or driver message: paths, hosts, table names), for operators only. Tenant
   * views drop it (`forTenant`); absent when `message` already is the cause.
   */
  internal?: string;
}

/** The code of a failure that is no typed error: the same as an unexpected error's problem (src/api/problem.ts). */
export const INTERNAL_FAILURE = 'internal';
const INTERNAL_MESSAGE = 'Something went wrong on our side; the error is recorded for operators.';
/** Bounds a raw message kept in a record (a DynamoDB item is at most 400 KB; the story keeps 100 steps). */
const MAX_INTERNAL_CHARS = 1000;

/**
 * A thrown cause as a job's record keeps it. Typed errors (`SilopoolError`) carry messages written for
 * clients, as the API's problem answers show them (src/api/problem.ts): kept. Anything else (a file
 * system, SDK or database error) may name paths, hosts and other tenants' keys: the tenant gets
 * `otherwise` (default: code `internal` and a fixed sentence), operators the raw text in `internal`.
 */
export function failureOf(
  cause: unknown,
  otherwise: { code: string; message: string } = { code: INTERNAL_FAILURE, message: INTERNAL_MESSAGE },
): Failure {
  if (cause instanceof SilopoolError) return { code: cause.code, message: cause.message };
  const raw = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return { ...otherwise, internal: raw.slice(0, MAX_INTERNAL_CHARS) };
}

/**
 * What a model's own `TypeError` or `RangeError` (a bug in a release's code, an engine limit) says to the
 * tenant: the run is not retried, and the engine's words name the code's internals, not the input.
 */
export const MODEL_FAILURE = {
  code: 'model_error',
  message: 'The model could not compute this input; operators can see why.',
} as const;

/** A story step or log line as its tenant sees it: without the operators' raw cause. */
export function forTenant<T extends { internal?: string }>(entry: T): Omit<T, 'internal'> {
  const { internal: _internal, ...rest } = entry;
  return rest;
}
