import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.ts';
import type { ModelRules } from '../../src/core/tenant.ts';
import { TenantRulesError } from '../../src/models/errors.ts';
import { getModel, listModels } from '../../src/models/registry.ts';
import { checkRules, resolveInput, schemaForTenant } from '../../src/models/rules.ts';
import type { JsonSchema } from '../../src/models/types.ts';

const finance = getModel('finance');
const funds = getModel('funds');
const props = (s: JsonSchema) => s['properties'] as Record<string, JsonSchema>;

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).status).toBe(400);
    return (e as ValidationError).problems;
  }
  throw new Error('expected a ValidationError');
}

const rules: ModelRules = {
  defaults: { taxRate: 0.3 },
  fixed: { discounting: 'mid-year' },
  ranges: { discountRate: { minimum: 0.05, maximum: 0.2 } },
};

describe('tenant rules', () => {
  it('schemaForTenant hides fixed fields, narrows ranges and replaces defaults', () => {
    const s = schemaForTenant(finance, rules);
    expect(props(s)['discounting']).toBeUndefined();
    expect(s['required']).not.toContain('discounting');
    expect(props(s)['discountRate']).toMatchObject({
      minimum: 0.05,
      maximum: 0.2,
      'x-rule': 'ranges.discountRate',
    });
    expect(props(s)['taxRate']!['default']).toBe(0.3);
    // The model's own schema is untouched.
    expect(props(finance.inputSchema)['discounting']).toBeDefined();
  });

  it('a fixed field cannot be overridden: 400 naming the rule', () => {
    const problems = problemsOf(() => resolveInput(finance, rules, { discounting: 'end-year' }));
    expect(problems).toEqual([
      {
        path: '/input/discounting',
        message: expect.stringContaining('tenant rule: fixed.discounting'),
        rule: 'fixed.discounting',
      },
    ]);
  });

  it('fixed values and tenant defaults are applied to the effective input', () => {
    const { effectiveInput } = resolveInput(finance, rules, {});
    expect(effectiveInput).toMatchObject({ discounting: 'mid-year', taxRate: 0.3, discountRate: 0.1 });
  });

  it('a value outside a narrowed range is a 400 naming the rule', () => {
    const problems = problemsOf(() => resolveInput(finance, rules, { discountRate: 0.3 }));
    expect(problems).toEqual([
      {
        path: '/input/discountRate',
        message: 'must be between 0.05 and 0.2 (tenant rule: ranges.discountRate)',
        rule: 'ranges.discountRate',
      },
    ]);
    expect(() => resolveInput(finance, {}, { discountRate: 0.3 })).not.toThrow();
  });

  it('reports every problem at once: fixed override, range, type, unknown field', () => {
    const problems = problemsOf(() =>
      resolveInput(finance, rules, { discounting: 'end-year', discountRate: 0.01, years: 'five', colour: 1 }),
    );
    expect(problems.map((p) => p.path).sort()).toEqual([
      '/input/colour',
      '/input/discountRate',
      '/input/discounting',
      '/input/years',
    ]);
  });

  it('ranges narrow per-year arrays too', () => {
    const r: ModelRules = { ranges: { revenueGrowth: { maximum: 0.1 } } };
    const problems = problemsOf(() => resolveInput(finance, r, { years: 2, revenueGrowth: [0.05, 0.5] }));
    expect(problems).toEqual([
      expect.objectContaining({ path: '/input/revenueGrowth/1', rule: 'ranges.revenueGrowth' }),
    ]);
  });

  it('nested conventions: a fixed fee basis is hidden and applied even when the fee object is defaulted', () => {
    const r: ModelRules = {
      fixed: { 'managementFee.basis': 'nav' },
      defaults: { 'managementFee.rate': 0.015 },
    };
    const s = schemaForTenant(funds, r);
    expect(props(props(s)['managementFee']!)['basis']).toBeUndefined();
    const { effectiveInput } = resolveInput(funds, r, {});
    expect(effectiveInput).toMatchObject({ managementFee: { rate: 0.015, basis: 'nav' } });
    const problems = problemsOf(() =>
      resolveInput(funds, r, { managementFee: { rate: 0.02, basis: 'committed' } }),
    );
    expect(problems[0]).toMatchObject({ rule: 'fixed.managementFee.basis' });
  });

  it('rules naming unknown fields or invalid values are an operator error, not a 400', () => {
    const bad: ModelRules = { fixed: { discountRatio: 0.1 }, defaults: { years: 99 } };
    expect(checkRules(finance, bad)).toHaveLength(2);
    expect(() => schemaForTenant(finance, bad)).toThrow(TenantRulesError);
  });

  it('rounding applies to reported figures only', () => {
    const { effectiveInput } = resolveInput(finance, {}, {});
    const result = finance.run(effectiveInput, {});
    const rounded = finance.summary(result, { rounding: 0 }) as { enterpriseValue: number };
    const full = finance.summary(result, {}) as { enterpriseValue: number };
    expect(rounded.enterpriseValue).toBe(Math.round(full.enterpriseValue));
    expect(Number.isInteger(full.enterpriseValue)).toBe(false);
  });

  it('every registered model accepts {} and has a title and version', () => {
    for (const m of listModels()) {
      expect(m.version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(() => resolveInput(m, {}, {})).not.toThrow();
    }
    expect(() => getModel('nope')).toThrow(/not found/);
  });
});
