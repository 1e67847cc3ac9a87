import { describe, expect, it } from 'vitest';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';

// docs/models.md: "a fix that changes a figure for some accepted input changes the model's version", so a
// job's modelVersion names the arithmetic behind its numbers. Each case is an accepted input whose figure a
// fix changed, pinned with the version that first gave it: a later change to the figure without a new
// version, or a new version claimed without one, fails here.

/** The summary a tenant with these rules gets for this input. */
function summaryOf(name: string, raw: Record<string, unknown>, rules: { rounding?: number }) {
  const model = getModel(name);
  const { effectiveInput } = resolveInput(model, rules, raw);
  return { version: model.version, summary: model.summary(model.run(effectiveInput, rules), rules) };
}

describe('model versions name the arithmetic of their figures', () => {
  it('finance 1.1.2: summary money at 10^14 and above is rounded on the exact double (ROUND fix, 121cc76)', () => {
    // The double nearest 12345678901234.564 is exactly 12345678901234.564453125 (53-bit mantissa,
    // step 2^-9 at this magnitude), so to cents it is .56; 1.1.1 rounded the 15-digit reading .6.
    expect((12345678901234.564).toFixed(9)).toBe('12345678901234.564453125');
    const { version, summary } = summaryOf('finance', { netDebt: 12345678901234.564 }, { rounding: 2 });
    expect(summary['netDebt']).toBe(12345678901234.56);
    expect(version).toMatch(/^1\.1\.[2-9]$/);
  });

  it('finance 1.1.3: an implied growth that only g ≥ r gives, and a multiple of a negative EBITDA, are null', () => {
    // Flat business with capex 50 % of revenue, exit at 8×: 1.1.2 reported an implied growth of 23.5 %.
    const flat = { revenue: 1000, revenueGrowth: 0, depreciationPctRevenue: 0.05, nwcPctRevenue: 0 };
    const exit = summaryOf(
      'finance',
      { ...flat, capexPctRevenue: 0.5, terminalMethod: 'exitMultiple', exitMultiple: 8 },
      {},
    );
    expect(exit.summary['impliedTerminalGrowth']).toBeNull();
    // Revenue halving, NWC released: 1.1.2 reported an implied multiple of −242.25.
    const released = summaryOf(
      'finance',
      {
        revenueGrowth: -0.5,
        nwcPctRevenue: 1,
        ebitdaMargin: -0.05,
        depreciationPctRevenue: 0,
        capexPctRevenue: 0,
      },
      {},
    );
    expect(released.summary['impliedExitMultiple']).toBeNull();
    expect(exit.version).toBe('1.1.3');
  });

  it('funds 1.1.1 and later already round that way (1.1.1 was made after the ROUND fix)', () => {
    const { version } = summaryOf('funds', {}, { rounding: 2 });
    expect(version).toMatch(/^1\.1\.[1-9]$/);
  });

  it('funds 1.1.2: fees above the commitment, and carry paid while LPs lose, are warned', () => {
    // 10 % a year on the commitment over 30 years: fees of 3× the commitment, which 1.1.1 ran with no word.
    const fees = summaryOf(
      'funds',
      { fundLifeYears: 30, managementFee: { rate: 0.1, basis: 'committed' } },
      {},
    );
    const codes = (s: { summary: Record<string, unknown> }) =>
      (s.summary['warnings'] as { code: string }[]).map((w) => w.code);
    expect(codes(fees)).toContain('fees_exceed_commitment');
    // Deal-by-deal carry on a fund whose LPs get back less than they paid in, after 10 % fees.
    const carry = summaryOf(
      'funds',
      {
        growthRate: 0.05,
        managementFee: { rate: 0.1, basis: 'committed' },
        carry: { rate: 0.2, hurdleRate: 0, catchUp: 1, waterfall: 'american' },
      },
      {},
    );
    expect(codes(carry)).toContain('carry_above_profit');
    expect(fees.version).toBe('1.1.4');
  });
});
