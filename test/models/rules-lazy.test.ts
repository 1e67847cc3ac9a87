import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { getModel } from '../../src/models/registry.ts';
import { checkRules, RULES_SCHEMA, schemaForTenant, surelyRulesShape } from '../../src/models/rules.ts';

const finance = getModel('finance');

describe("a workbook's tenant schema", () => {
  it('is built without compiling any Ajv validator (a dedicated function compiled three on its first job)', () => {
    // Rules of this test only: nothing cached by another test answers for them.
    const rules = { ranges: { discountRate: { minimum: 0.0512345, maximum: 0.2 } }, rounding: 3 };
    const compile = vi.spyOn(Ajv.prototype, 'compile');
    try {
      const schema = schemaForTenant(finance, rules);
      expect(JSON.stringify(schema)).toContain('0.0512345');
      expect(schemaForTenant(finance, {})).toBeDefined();
      expect(compile).not.toHaveBeenCalled();
    } finally {
      compile.mockRestore();
    }
  });
});

describe('the plain rules-shape check', () => {
  const ajvShape = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(RULES_SCHEMA);
  const number = fc.oneof(
    fc.double(),
    fc.integer({ min: -3, max: 13 }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 0.5),
  );
  const anyValue = fc.oneof(number, fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.integer()));
  const range = fc.oneof(
    fc.record({ minimum: number, maximum: number }, { requiredKeys: [] }),
    fc.dictionary(fc.constantFrom('minimum', 'maximum', 'min', 'x'), anyValue),
    anyValue,
  );
  const rules = fc.oneof(
    fc.record(
      {
        defaults: fc.oneof(fc.dictionary(fc.string(), anyValue), anyValue),
        fixed: fc.oneof(fc.dictionary(fc.string(), anyValue), anyValue),
        ranges: fc.oneof(fc.dictionary(fc.string(), range), anyValue),
        rounding: fc.oneof(number, anyValue),
        other: anyValue,
      },
      { requiredKeys: [] },
    ),
    anyValue,
  );

  it('never accepts what Ajv refuses (Ajv still names the problems of every other value)', () => {
    fc.assert(
      fc.property(rules, (value) => {
        if (surelyRulesShape(value)) expect(ajvShape(value)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    // More than 500 of a kind, an inherited key, a class instance: left to Ajv.
    expect(
      surelyRulesShape({ defaults: Object.fromEntries([...Array(501).keys()].map((i) => [`f${i}`, 1])) }),
    ).toBe(false);
    expect(surelyRulesShape(Object.create({ extra: 1 }))).toBe(false);
    expect(surelyRulesShape(new (class Rules {})())).toBe(false);
  });

  it('vouches for the rules tenants have, so their first job compiles nothing', () => {
    for (const value of [
      {},
      { rounding: 2 },
      { defaults: { taxRate: 0.3 }, fixed: { discounting: 'mid-year' } },
      { ranges: { discountRate: { minimum: 0.05, maximum: 0.2 } } },
    ])
      expect(surelyRulesShape(value)).toBe(true);
  });

  it('leaves the problems of a rules value of a wrong shape as Ajv words them', () => {
    expect(checkRules(finance, { ranges: { discountRate: { minimum: 'low' } }, color: 'red' })).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/ranges/discountRate/minimum' })]),
    );
  });
});
