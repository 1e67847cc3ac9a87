import type { FastifyRequest } from 'fastify';
import { type FieldProblem, ValidationError } from '../core/errors.ts';

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

const headersWith = (description: string) =>
  ({ type: 'object', properties: { 'idempotency-key': { type: 'string', description } } }) as const;

/** The `Idempotency-Key` header in a job submission's OpenAPI `headers` schema. */
export const idempotencyKeyHeaders = headersWith(
  'Makes retries safe: a repeat with the same key and body gets the first answer and writes nothing; the same key with another body is 409 `idempotency_key_reused`.',
);

/** The `Idempotency-Key` header of a billing write: kept 24 h (control/billing-idempotency.ts). */
export const billingIdempotencyKeyHeaders = headersWith(
  'Makes retries safe for 24 hours from the first request: a repeat with the same key and body gets the first answer and writes nothing; the same key with another body is 409 `idempotency_key_reused`. After 24 hours the key is forgotten and a request with it is a new one.',
);

/** The request's `Idempotency-Key` (the first, if sent twice), and a problem when it is not 1-128 of `A-Za-z0-9._:-`. */
export function idempotencyKeyOf(request: Pick<FastifyRequest, 'headers'>): {
  key?: string;
  problem?: FieldProblem;
} {
  const header = request.headers['idempotency-key'];
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined) return {};
  if (IDEMPOTENCY_KEY.test(key)) return { key };
  return {
    key,
    problem: {
      path: '/headers/idempotency-key',
      message: 'must be 1-128 letters, digits or ._:-',
      rule: 'pattern',
    },
  };
}

/** The request's `Idempotency-Key`, if any. @throws ValidationError (400) when it is not one */
export function validIdempotencyKey(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  const { key, problem } = idempotencyKeyOf(request);
  if (problem) throw new ValidationError([problem]);
  return key;
}
