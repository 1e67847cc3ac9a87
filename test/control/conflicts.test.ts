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
  it('gives up with the last ConditionFailedError after its attempts, not spinning for ever', async () => {
    let tries = 0;
    const losing = retryOnConflict(async () => {
      tries += 1;
      throw new ConditionFailedError();
    }, 4);
    await expect(losing).rejects.toBeInstanceOf(ConditionFailedError);
    expect(tries).toBe(4);
    tries = 0;
    await expect(
      retryOnConflict(async () => {
        tries += 1;
        throw new ConditionFailedError();
      }),
    ).rejects.toMatchObject({ status: 409, code: 'condition_failed' });
    expect(tries).toBe(CAS_ATTEMPTS);
  });
});
