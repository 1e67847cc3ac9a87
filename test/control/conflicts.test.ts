import { describe, expect, it } from 'vitest';
import { CAS_ATTEMPTS, retryOnConflict } from '../../src/control/conflicts.ts';
import { ConditionFailedError, ConflictError } from '../../src/core/errors.ts';

describe('retryOnConflict', () => {
  it('tries again after each lost compare-and-set, and answers what the winning try answers', async () => {
    let tries = 0;
    const answer = await retryOnConflict(async () => {
      tries += 1;
      if (tries < 3) throw new ConditionFailedError();
      return `won on try ${tries}`;
    });
    expect(answer).toBe('won on try 3');
  });

  it('ends at the first error that is not a lost race', async () => {
    let tries = 0;
    const failing = retryOnConflict(async () => {
      tries += 1;
      throw new ConflictError('Tenant t-1 is already dedicated.', 'already_placed');
    });
    await expect(failing).rejects.toBeInstanceOf(ConflictError);
    expect(tries).toBe(1);
  });
});

describe('retryOnConflict, bounded', () => {
  // A writer that loses every race: gives in after 50 tries, so an unbounded loop answers instead of failing.
  const losing = (tries: { n: number }) => async () => {
    tries.n += 1;
    if (tries.n >= 50) return 'spun';
    throw new ConditionFailedError();
  };

  it('gives up with the last ConditionFailedError after its attempts, not spinning for ever', async () => {
    const few = { n: 0 };
    await expect(retryOnConflict(losing(few), 4)).rejects.toBeInstanceOf(ConditionFailedError);
    expect(few.n).toBe(4);
    const fallback = { n: 0 };
    await expect(retryOnConflict(losing(fallback))).rejects.toMatchObject({
      status: 409,
      code: 'condition_failed',
    });
    expect(fallback.n).toBe(CAS_ATTEMPTS);
  });
});
