import { randomUUID } from 'node:crypto';
import { ConditionFailedError, ConflictError, SilopoolError } from '../core/errors.ts';
import { hashRequest } from '../core/request-hash.ts';
import type { BillingItems } from '../ports/billing-items.ts';

// An operator's billing write sent again (a client that timed out after the server committed, a CLI that
// retries) under the same Idempotency-Key is one write: a correction has a random id, so each retry made
// another one; a plan change replayed after a later one undid the later. Keys live in billing's own items,
// claimed with a conditional write before the write they guard.

const PK = 'IDEMPOTENCY';

/** The billing writes that take an Idempotency-Key; each keeps its keys under `{operation}#`. */
export const IDEMPOTENT_OPERATIONS = ['adjustment', 'plan-change'] as const;
export type IdempotentOperation = (typeof IDEMPOTENT_OPERATIONS)[number];

/**
 * How long a key is kept, from its claim: 24 hours, as Stripe keeps its keys ("Keys are eligible to be
 * removed from the system automatically after they're at least 24 hours old", docs.stripe.com/api/
 * idempotent_requests). Within it a retry is answered as the first time; after it the key is new again.
 */
export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 3_600_000;

const expired = (record: KeyRecord<unknown>, now: number) => now - record.now >= IDEMPOTENCY_KEY_RETENTION_MS;

/** What a key is bound to: its request, and the fixed time and id its write is made with. */
interface KeyRecord<T> {
  /** Its own sort key, so pruning can delete it (records from before retention lack it; see below). */
  sk?: string;
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
 * A key claimed `IDEMPOTENCY_KEY_RETENTION_MS` (24 h) or more before `now` is expired: the request is a new one.
 * A write refused with a 4xx (`SilopoolError`, not a lost compare-and-set) frees its key: the corrected request
 * may use it.
 * @param request what the key is bound to (tenant, body): canonical JSON, hashed
 * @throws ConflictError `idempotency_key_reused` (409) when the key was used with another request
 */
export async function idempotentWrite<T>(
  billing: BillingItems,
  operation: IdempotentOperation,
  key: string | undefined,
  request: unknown,
  write: (fixed: { now: number; id: string }) => Promise<T>,
  now = Date.now(),
): Promise<T> {
  const fresh = { now, id: randomUUID() };
  if (key === undefined) return write(fresh);
  const sk = `${operation}#${key}`;
  const claim: KeyRecord<T> = { sk, requestHash: hashRequest(operation, request), ...fresh };
  let held = claim;
  if (!(await claimKey(billing, sk, claim, now))) {
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
  let response: T;
  try {
    response = await write({ now: held.now, id: held.id });
  } catch (error) {
    // A refusal (a 4xx: a bad amount, a closed month) wrote nothing that counts, so it saves no result and
    // frees the key for the corrected request, as Stripe does for requests that fail validation. Any other
    // failure keeps the claim: the write may have happened, and a retry must make it under the same id.
    if (isRefusal(error)) await billing.deleteIf(PK, sk, held);
    throw error;
  }
  // Stored as JSON, so the first answer is the repeats' answer byte for byte.
  const stored = JSON.parse(JSON.stringify(response)) as T;
  await billing.put(PK, sk, { ...held, response: stored } satisfies KeyRecord<T>);
  return stored;
}

/** An error the write raised before writing anything that counts: the caller's 4xx, not a lost race. */
const isRefusal = (error: unknown) =>
  error instanceof SilopoolError &&
  error.status >= 400 &&
  error.status < 500 &&
  !(error instanceof ConditionFailedError);

/**
 * Claims `sk` for `claim`; a claim there that has expired is removed first, only while it is still that claim
 * (a conditional delete), so of two requests racing for an expired key one claims it and the other reads it.
 */
async function claimKey(billing: BillingItems, sk: string, claim: KeyRecord<unknown>, now: number) {
  if (await billing.put(PK, sk, claim, { ifAbsent: true })) return true;
  const existing = await billing.get<KeyRecord<unknown>>(PK, sk);
  if (existing && !expired(existing, now)) return false;
  // Expired, or pruned between the put and the read (a retry then must not be told the key is unreadable).
  if (existing) await billing.deleteIf(PK, sk, existing);
  return billing.put(PK, sk, claim, { ifAbsent: true });
}

/**
 * Deletes the keys claimed `IDEMPOTENCY_KEY_RETENTION_MS` or more before `now` (each only while it is still
 * the claim read, so a key claimed again meanwhile stays); a key inside the window is never touched.
 * @returns how many keys were deleted
 */
export async function pruneIdempotencyKeys(billing: BillingItems, now = Date.now()): Promise<number> {
  let deleted = 0;
  // A record claimed before retention existed has no `sk`: it is replaced when its key is next used.
  for (const operation of IDEMPOTENT_OPERATIONS)
    for (const record of await billing.query<KeyRecord<unknown>>(PK, `${operation}#`))
      if (record.sk !== undefined && expired(record, now) && (await billing.deleteIf(PK, record.sk, record)))
        deleted++;
  return deleted;
}
