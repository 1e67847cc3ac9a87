import { SilopoolError } from './errors.ts';
import type { JobError } from './job.ts';

/** What a job's record says of a failed attempt: a stable code and a message fit for its tenant. */
export interface Failure {
  code: string;
  /** Safe for the tenant: the typed error's own message, or a fixed sentence for anything else. */
  message: string;
  /**
   * The raw cause (an OS, SDK or driver message: paths, hosts, table names), for operators only. Tenant
   * views drop it (src/core/tenant-view.ts); absent when `message` already is the cause.
   */
  internal?: string;
}

/** The code of a failure that is no typed error: the same as an unexpected error's problem (src/api/problem.ts). */
export const INTERNAL_FAILURE = 'internal';
export const INTERNAL_MESSAGE = 'Something went wrong on our side; the error is recorded for operators.';
/** Bounds a raw message kept in a record (a DynamoDB item is at most 400 KB; the story keeps 100 steps). */
const MAX_INTERNAL_CHARS = 1000;

/**
 * A thrown cause as a job's record keeps it. A typed error (`SilopoolError`) keeps its code; its message
 * is the tenant's when `failureForTenant` says so (an error about the input, settings or the job's life),
 * else a fixed sentence with the message under `internal`. Anything else (a file system, SDK or database
 * error) may name paths, hosts and other tenants' keys: the tenant gets `otherwise` (default: code
 * `internal` and a fixed sentence), operators the raw text in `internal`.
 */
export function failureOf(
  cause: unknown,
  otherwise: { code: string; message: string } = { code: INTERNAL_FAILURE, message: INTERNAL_MESSAGE },
): Failure {
  if (cause instanceof SilopoolError) {
    const shown = failureForTenant({ code: cause.code, message: cause.message });
    if (shown.message === cause.message) return shown;
    return { ...shown, internal: `${cause.name}: ${cause.message}`.slice(0, MAX_INTERNAL_CHARS) };
  }
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

/** A failure code as the platform writes them; anything else in a record is raw text, not a code. */
const CODE = /^[a-z][a-z0-9_]{0,63}$/;

/** The sentence a platform fault gives its tenant: the fault is the platform's, the details are operators'. */
export const PLATFORM_FAULT_MESSAGE =
  'A platform service failed while running the job; the error is recorded for operators.';

/**
 * Codes whose messages are written for the job's tenant: about its input, its settings, its plan's limits
 * or its job's life (a time limit, a lost message, a dead letter). Their message is shown as recorded. A
 * list, not a rule: a code not named here (a new platform fault, a code an old release wrote) shows a
 * fixed sentence, so a message naming the platform's tables, buckets, Regions or files stays with
 * operators until someone decides it is the tenant's to read.
 */
const TENANT_MESSAGE_CODES = new Set([
  'validation_failed',
  'tenant_settings_invalid',
  'cost_limit_exceeded',
  'model_version_unavailable',
  'pinned_version_unavailable',
  'variant_unavailable',
  'unknown_model',
  'not_found',
  'timeout',
  'message_lost',
  'dead_lettered',
  'enqueue_failed',
]);

/** Codes whose message is one fixed sentence, whatever a record says (older records hold the raw cause). */
const FIXED_MESSAGES: Readonly<Record<string, string>> = {
  [INTERNAL_FAILURE]: INTERNAL_MESSAGE,
  [MODEL_FAILURE.code]: MODEL_FAILURE.message,
};

const EXHAUSTED = 'retries_exhausted';
const EXHAUSTED_PREFIX = 'The job failed on every attempt';
/** The message `markExhausted` writes (src/functions/model-handler.ts): the last attempt's code and message. */
const EXHAUSTED_SHAPE = /^The job failed on every attempt \(([a-z][a-z0-9_]{0,63})\): ([\s\S]*)$/;

/** Whether `code` is one the platform writes into a job's failure (else a record's text is a raw message). */
export function isFailureCode(code: string): boolean {
  return TENANT_MESSAGE_CODES.has(code) || Object.hasOwn(FIXED_MESSAGES, code) || code === EXHAUSTED;
}

/**
 * A job failure (`error`, or a failure step's `code: message`) as its tenant sees it: the code, and the
 * message only when the code's messages are written for the tenant (above), else a fixed sentence.
 * `retries_exhausted` wraps the last attempt's failure, judged the same way; its old shape
 * (`…attempt: <raw>`) says no more than that the platform failed. Pure; used on every read for a tenant
 * and by `failureOf` when a failure is written.
 */
export function failureForTenant(error: JobError): JobError {
  const code = typeof error.code === 'string' && CODE.test(error.code) ? error.code : INTERNAL_FAILURE;
  const message = typeof error.message === 'string' ? error.message : '';
  if (code !== error.code) return { code, message: INTERNAL_MESSAGE };
  if (TENANT_MESSAGE_CODES.has(code)) return { code, message };
  if (code === EXHAUSTED) {
    const last = EXHAUSTED_SHAPE.exec(message);
    const inner = last ? failureForTenant({ code: last[1]!, message: last[2]! }) : undefined;
    return {
      code,
      message: inner
        ? `${EXHAUSTED_PREFIX} (${inner.code}): ${inner.message}`
        : `${EXHAUSTED_PREFIX} (${INTERNAL_FAILURE}): ${INTERNAL_MESSAGE}`,
    };
  }
  return {
    code,
    message: Object.hasOwn(FIXED_MESSAGES, code) ? FIXED_MESSAGES[code]! : PLATFORM_FAULT_MESSAGE,
  };
}
