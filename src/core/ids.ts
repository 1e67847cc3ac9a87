import { randomFillSync } from 'node:crypto';
import { ValidationError } from './errors.ts';

/** Tenant ids cannot contain `#` or `/`, the delimiters of every storage key, so `a1` never prefixes `a1-x`. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

export type TenantId = string & { readonly __brand: 'TenantId' };
export type JobId = string & { readonly __brand: 'JobId' };

export function isTenantId(value: unknown): value is TenantId {
  return typeof value === 'string' && TENANT_ID_PATTERN.test(value);
}

export function parseTenantId(value: unknown, path = '/id'): TenantId {
  if (!isTenantId(value)) {
    throw new ValidationError([
      {
        path,
        message:
          'must be 2-63 characters of lowercase letters, digits and hyphens, starting with a letter or digit',
        rule: 'pattern',
      },
    ]);
  }
  return value;
}

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';

/** Job ids sort by creation time (a ULID in lowercase Crockford base32), so listing by id lists by age. */
export function newJobId(now = Date.now()): JobId {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  if (randomOffset + 16 > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += CROCKFORD[randomPool[randomOffset + i]! % 32];
  randomOffset += 16;
  return `j_${time}${rand}` as JobId;
}

// Random bytes drawn 4 KiB at a time: one `randomBytes(16)` per job was 3 % of a submit (profile, issue 14).
// Each id still takes 16 bytes of its own from the CSPRNG.
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;

export const JOB_ID_PATTERN = /^j_[0-9a-hjkmnp-tv-z]{26}$/;

export function isJobId(value: unknown): value is JobId {
  return typeof value === 'string' && JOB_ID_PATTERN.test(value);
}
