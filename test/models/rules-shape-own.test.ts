import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { RULES_SCHEMA, surelyRulesShape } from '../../src/models/rules.ts';

// Ajv's `properties` reads `data.rounding`, `data.defaults`, `range.minimum` whether or not the property is
// enumerable or a getter; a plain check walking only `for…in` keys skipped them and vouched for the value.
describe('surelyRulesShape and properties for…in does not see', () => {
  const ajvShape = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(RULES_SCHEMA);
  const hidden = (target: object, key: string, value: unknown) =>
    Object.defineProperty(target, key, { value, enumerable: false });
  const cases: [string, () => unknown][] = [
    ['a non-enumerable rounding of 99', () => hidden({}, 'rounding', 99)],
    ['a non-enumerable defaults that is a number', () => hidden({ fixed: {} }, 'defaults', 5)],
    [
      'a non-enumerable minimum that is a string',
      () => ({ ranges: { 'loan.annualRate': hidden({ maximum: 1 }, 'minimum', 'low') } }),
    ],
    [
      'a getter for rounding',
      () => Object.defineProperty({}, 'rounding', { get: () => 99, enumerable: true }),
    ],
  ];
  for (const [name, make] of cases) {
    it(`leaves ${name} to Ajv, which refuses it`, () => {
      const value = make();
      expect(ajvShape(value)).toBe(false);
      expect(surelyRulesShape(value)).toBe(false);
    });
  }
  it('still vouches for plain JSON rules', () => {
    expect(
      surelyRulesShape(JSON.parse('{"rounding":2,"ranges":{"a.b":{"minimum":0}},"fixed":{"x":1}}')),
    ).toBe(true);
  });
});
