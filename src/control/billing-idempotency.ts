import { randomUUID } from 'node:crypto';
import { ConflictError } from '../core/errors.ts';
import { hashRequest } from '../core/request-hash.ts';
import type { BillingItems } from '../ports/billing-items.ts';

// An operator's billing write sent again (a client that timed out after the server committed, a CLI that
// retries) under the same Idempotency-Key is one write: a correction has a random id, so each retry made
// another one; a plan change replayed after a later one undid the later. Keys live in billing's own items,
// claimed with a conditional write before the write they guard.

const PK = 'IDEMPOTENCY';

/** What a key is bound to: its request, and the fixed time and id its write is made with. */
interface KeyRecord<T> {
  requestHash: string;
  /** Epoch ms: the write's `now`, the same on every run of it. */
  now: number;
  /** An id for the write (a correction's), the same on every run of it. */
  id: string;
  /** The answer, once the write finished: a repeat gets it as it was. */
  response?: T;
}

/**
 * Runs `write` once per `key` of `operation` (e.g. `adjustment`): the first request claims the key (a
 * conditional put) with a time and an id, and `write` runs with them; the answer is stored and a repeat of the
 * same request gets it back unchanged, without writing. A repeat that finds the key claimed but not answered
 * (the first died, or runs still) runs `write` again with the claimed time and id: the write must be
 * idempotent given them (same item keys), so the two make one. Without a key, `write` runs with a fresh id.
 * @param request what the key is bound to (tenant, body): canonical JSON, hashed
 * @throws ConflictError `idempotency_key_reused` (409) when the key was used with another request
 */
export async function idempotentWrite<T>(
  billing: BillingItems,
  operation: string,
  key: string | undefined,
  request: unknown,
  write: (fixed: { now: number; id: string }) => Promise<T>,
  now = Date.now(),
): Promise<T> {
  const fresh = { now, id: randomUUID() };
  if (key === undefined) return write(fresh);
  const sk = `${operation}#${key}`;
  const claim: KeyRecord<T> = { requestHash: hashRequest(operation, request), ...fresh };
  let held = claim;
  if (!(await billing.put(PK, sk, claim, { ifAbsent: true }))) {
    const existing = await billing.get<KeyRecord<T>>(PK, sk);
    if (!existing) throw new ConflictError(`Idempotency-Key ${key} could not be read back; retry.`);
    if (existing.requestHash !== claim.requestHash)
      throw new ConflictError(
        `This Idempotency-Key was used with a different ${operation} request; use a new key for a new one.`,
        'idempotency_key_reused',
      );
    if (existing.response !== undefined) return existing.response;
    held = existing;
  }
  const response = await write({ now: held.now, id: held.id });
  // Stored as JSON, so the first answer is the repeats' answer byte for byte.
  const stored = JSON.parse(JSON.stringify(response)) as T;
  await billing.put(PK, sk, { ...held, response: stored } satisfies KeyRecord<T>);
  return stored;
}
