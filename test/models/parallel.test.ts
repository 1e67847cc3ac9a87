import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';

describe('funds simulation in parts', () => {
  it('plans no split for small runs and several parts for big ones', () => {
    const funds = getModel('funds');
    const small = resolveInput(
      funds,
      {},
      { simulations: 500, growthVolatility: 0.2, seed: 1 },
    ).effectiveInput;
    const big = resolveInput(
      funds,
      {},
      { simulations: 10_000, growthVolatility: 0.2, seed: 1 },
    ).effectiveInput;
    expect(funds.parallel!.plan(small, 4)).toEqual([]);
    expect(funds.parallel!.plan(big, 1)).toEqual([]);
    expect(funds.parallel!.plan(big, 2).length).toBeGreaterThan(1);
  });

  it('combining the parts gives exactly the single run, for any seed and core count', () => {
    const funds = getModel('funds');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 8 }), (seed, cores) => {
        const input = resolveInput(
          funds,
          {},
          { simulations: 2000, growthVolatility: 0.25, seed },
        ).effectiveInput;
        const plan = funds.parallel!.plan(input, cores);
        const parts = plan.map((part) => funds.parallel!.runPart(input, part));
        const combined = funds.parallel!.combine(input, {}, parts);
        expect(JSON.stringify(funds.summary(combined, {}))).toBe(
          JSON.stringify(funds.summary(funds.run(input, {}), {})),
        );
      }),
      { numRuns: 4 },
    );
  });
});
