import { describe, expect, it } from 'vitest';
import { retryOnConflict } from '../../src/control/conflicts.ts';
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
