import { format } from '@cfworker/json-schema';
import { getClosestMatchingOption, getDefaultFormState, type RJSFSchema } from '@rjsf/utils';
import { Ajv, type ErrorObject } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { financeSchema } from '../../src/models/finance/schema.ts';
import { fundsSchema } from '../../src/models/funds/schema.ts';
import { listModels } from '../../src/models/registry.ts';
import { addFormats } from '../../src/models/rules.ts';
import { formValidator, InterpretingValidator } from '../../web/src/portal/formValidator.ts';
import { checkData, prepareSchema, type SchemaError } from '../../web/src/portal/schemaErrors.ts';
import { formSchema, friendlyErrorsFor, uiSchemaFor } from '../../web/src/portal/schemaForm.ts';

/** The portal's form as RunModelPage sets it up: the tenant schema, its uiSchema and friendlier messages. */
function form(model: object) {
  const schema = formSchema(structuredClone(model) as never) as RJSFSchema;
  const ui = uiSchemaFor(schema);
  const transform = friendlyErrorsFor(schema);
  const filled = getDefaultFormState(formValidator, schema, {}, schema) as Record<string, unknown>;
  const validate = (
    data: Record<string, unknown>,
    custom?: Parameters<typeof formValidator.validateFormData>[2],
  ) => formValidator.validateFormData({ ...filled, ...data }, schema, custom, transform, ui);
  return { schema, filled, validate };
}

const finance = form(financeSchema);

/** The messages @rjsf shows under the field `name` (an error schema is typed by the form data, unknown here). */
const fieldErrors = (errorSchema: object, name: string): string[] =>
  (errorSchema as Record<string, { __errors?: string[] } | undefined>)[name]?.__errors ?? [];

describe('the portal form validator (interprets the schema, no eval)', () => {
  it('fills every default and finds the filled form valid', () => {
    expect(finance.filled).toMatchObject({
      currency: 'USD',
      years: 5,
      revenueGrowth: 0.05,
      discountRate: 0.1,
    });
    expect(finance.validate({})).toEqual({ errors: [], errorSchema: {} });
    const funds = form(fundsSchema);
    expect(funds.validate({})).toEqual({ errors: [], errorSchema: {} });
  });

  it('puts a bad value next to its field, in the unit typed, and names the field in the summary', () => {
    expect(finance.validate({ discountRate: 5 })).toEqual({
      errors: [
        {
          name: 'maximum',
          property: '.discountRate',
          message: 'must be at most 100 %',
          params: { comparison: '<=', limit: 1 },
          stack: 'Discount rate (WACC) must be at most 100 %',
          schemaPath: '#/properties/discountRate/maximum',
          title: 'Discount rate (WACC) (%)',
        },
      ],
      errorSchema: { discountRate: { __errors: ['must be at most 100 %'] } },
    });
    expect(finance.validate({ years: 'six' }).errorSchema).toEqual({
      years: { __errors: ['must be integer'] },
    });
    expect(finance.validate({ currency: 'usd' }).errorSchema).toEqual({
      currency: { __errors: ['must match pattern "^[A-Z]{3}$"'] },
    });
    expect(finance.validate({ terminalMethod: 'dcf' }).errorSchema).toEqual({
      terminalMethod: { __errors: ['must be equal to one of the allowed values'] },
    });
    // An emptied field is absent, as in the JSON a submit sends.
    const emptied = finance.validate({ years: undefined, netDebt: undefined });
    expect(emptied.errors.map((e) => e.stack)).toEqual(['Projection years is required']);
    expect(emptied.errorSchema).toEqual({ years: { __errors: ['is required'] } });
    // An emptied list item, or no data at all, is a value of no type (Ajv reads `undefined` so too).
    const list: RJSFSchema = { type: 'array', items: { type: 'number' } };
    expect(formValidator.validateFormData([1, undefined], list).errorSchema).toEqual({
      1: { __errors: ['must be number'] },
    });
    expect(formValidator.validateFormData(undefined, { type: 'object' }).errorSchema).toEqual({
      __errors: ['must be object'],
    });
    expect(formValidator.isValid({ type: 'number' }, undefined, list)).toBe(false);
  });

  it('reports the fields of a nested object at their own paths', () => {
    const missing = finance.validate({ loan: { principal: 1000 } });
    expect(missing.errors.map((e) => e.stack)).toEqual([
      'Loan: Annual interest rate is required',
      'Loan: Term is required',
      'Loan: Drawdown date is required',
    ]);
    const bad = finance.validate({
      loan: { principal: 0, annualRate: 0.05, termMonths: 12.5, startDate: '2025-02-30' },
    });
    expect(bad.errorSchema).toEqual({
      loan: {
        principal: { __errors: ['must be greater than 0'] },
        termMonths: { __errors: ['must be integer'] },
        startDate: { __errors: ['must match format "date"'] },
      },
    });
    expect(bad.errors.map((e) => e.stack)).toEqual([
      'Loan: Principal must be greater than 0',
      'Loan: Term must be integer',
      'Loan: Drawdown date must match format "date"',
    ]);
  });

  it('reports an item of a list by position, an unknown field at the object, in the order Ajv reports them', () => {
    const result = finance.validate({ revenueGrowth: [0.1, 20], extra: 1 });
    expect(result.errors.map((e) => [e.name, e.property, e.stack])).toEqual([
      ['additionalProperties', '', "'Company projection and valuation' must NOT have additional properties"],
      ['type', '.revenueGrowth', 'Revenue growth must be a rate: type 5, 5 % or 0.05 for 5 %'],
      ['maximum', '.revenueGrowth.1', 'Value per period 2 must be at most 1000 %'],
      ['anyOf', '.revenueGrowth', 'Revenue growth must match a schema in anyOf'],
    ]);
    expect(result.errors[0]?.params).toEqual({ additionalProperty: 'extra' });
    expect(finance.validate({ 'a/b~c': 1 }).errors[0]?.params).toEqual({ additionalProperty: 'a/b~c' });
    expect(result.errorSchema).toEqual({
      __errors: ['must NOT have additional properties'],
      revenueGrowth: {
        1: { __errors: ['must be at most 1000 %'] },
        __errors: ['must be a rate: type 5, 5 % or 0.05 for 5 %', 'must match a schema in anyOf'],
      },
    });
  });

  it('checks dates as the server does (ajv-formats): real calendar days, leap years included', () => {
    const at = (startDate: string) =>
      finance.validate({ loan: { principal: 1, annualRate: 0.05, termMonths: 12, startDate } }).errors.length;
    expect(at('2024-02-29')).toBe(0);
    expect(at('2023-02-29')).toBe(1);
    expect(at('2025-13-01')).toBe(1);
    expect(at('2025-1-1')).toBe(1);
    expect(at('2025-01-01T00:00:00Z')).toBe(1);
  });

  it('knows every format a model uses, and agrees with the server on it', () => {
    const used = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'format' && typeof value === 'string') used.add(value);
          else walk(value);
        }
      }
    };
    for (const model of listModels()) walk(model.inputSchema);
    expect([...used]).toContain('date');
    const server = addFormats(new Ajv({ strict: false }));
    const samples = [
      '2024-02-29',
      '2023-02-29',
      '1900-01-01',
      '2025-04-31',
      '2025-12-31',
      '20250101',
      '',
      'x',
    ];
    for (const name of used) {
      expect(format[name], `the form validator knows format "${name}"`).toBeTypeOf('function');
      const serverCheck = server.compile({ type: 'string', format: name });
      for (const sample of samples) {
        expect(
          formValidator.isValid({ type: 'string', format: name }, sample, {}),
          `${name}: ${sample}`,
        ).toBe(serverCheck(sample));
      }
    }
  });

  it('picks the anyOf branch the value fits (a rate, or a rate per year)', () => {
    const growth = (finance.schema.properties as Record<string, RJSFSchema>).revenueGrowth!;
    const options = growth.anyOf as RJSFSchema[];
    expect(getClosestMatchingOption(formValidator, finance.schema, 0.05, options, 0)).toBe(0);
    expect(getClosestMatchingOption(formValidator, finance.schema, [0.05, 0.1], options, 0)).toBe(1);
    expect(formValidator.isValid(options[0]!, 0.05, finance.schema)).toBe(true);
    expect(formValidator.isValid(options[1]!, 0.05, finance.schema)).toBe(false);
  });

  it("resolves a part's $ref against the root schema, and reports a schema it cannot use", () => {
    const root: RJSFSchema = {
      type: 'object',
      definitions: { rate: { type: 'number', maximum: 1 } },
      properties: { a: { $ref: '#/definitions/rate' } },
    };
    expect(formValidator.isValid({ $ref: '#/definitions/rate' }, 0.5, root)).toBe(true);
    expect(formValidator.isValid({ $ref: '#/definitions/rate' }, 2, root)).toBe(false);
    expect(formValidator.validateFormData({ a: 2 }, root).errorSchema).toEqual({
      a: { __errors: ['must be <= 1'] },
    });
    const broken = new InterpretingValidator().validateFormData(
      { a: 1 },
      { properties: { a: { $ref: '#/nowhere' } } },
    );
    expect(broken.errors).toHaveLength(1);
    expect(broken.errors[0]?.stack).toMatch(/Unresolved \$ref/);
    expect(fieldErrors(broken.errorSchema, '$schema')[0]).toMatch(/Unresolved \$ref/);
  });

  it('merges custom validation into the errors, and leaves the schema it reads unchanged', () => {
    const frozen = structuredClone(finance.schema);
    const deepFreeze = (o: object): void => {
      Object.freeze(o);
      for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) deepFreeze(v);
    };
    deepFreeze(frozen);
    const result = new InterpretingValidator().validateFormData(
      { ...finance.filled, terminalGrowth: 0.2 },
      frozen,
      (data, errors) => {
        const d = data as { terminalGrowth: number; discountRate: number };
        const fields = errors as unknown as Record<string, { addError(message: string): void }>;
        if (d.terminalGrowth >= d.discountRate)
          fields.terminalGrowth?.addError('must be below the discount rate');
        return errors;
      },
    );
    expect(fieldErrors(result.errorSchema, 'terminalGrowth')).toEqual(['must be below the discount rate']);
    expect(result.errors.map((e) => e.stack)).toEqual(['.terminalGrowth must be below the discount rate']);
    expect(frozen).toEqual(finance.schema);
  });
});

describe('the form validator reports what the server validator (Ajv + ajv-formats) reports', () => {
  const shape = ({ keyword, instancePath, schemaPath, params, message }: ErrorObject | SchemaError) => ({
    keyword,
    instancePath,
    schemaPath,
    params,
    message,
  });
  const value = fc.oneof(
    fc.integer({ min: -3, max: 3000 }),
    fc.double({ noNaN: true, min: -20, max: 20 }),
    fc.string({ maxLength: 3 }),
    fc.constant(null),
    fc.array(fc.oneof(fc.double({ noNaN: true, min: -20, max: 20 }), fc.string({ maxLength: 2 })), {
      maxLength: 3,
    }),
    fc.constantFrom('2025-01-01', '2023-02-29', 'USD', 'gordon', 'nav', 1, 4),
  );
  const nestedKeys = [
    'rate',
    'basis',
    'principal',
    'annualRate',
    'termMonths',
    'startDate',
    'hurdleRate',
    'a/b',
  ];

  for (const model of listModels()) {
    it(`${model.name}: the same errors (keyword, path, params, message) in the same order, for any input`, () => {
      // The server's options without useDefaults, which would fill the input it checks.
      const server = addFormats(new Ajv({ allErrors: true, strict: false })).compile(model.inputSchema);
      const prepared = prepareSchema(model.inputSchema as never);
      const fields = [...Object.keys(model.inputSchema.properties as object), 'unknownField'];
      const input = fc.dictionary(
        fc.constantFrom(...fields),
        fc.oneof(value, fc.dictionary(fc.constantFrom(...nestedKeys), value)),
      );
      fc.assert(
        fc.property(input, (data) => {
          server(data);
          expect(checkData(prepared, data).errors.map(shape)).toEqual((server.errors ?? []).map(shape));
        }),
        { numRuns: 300 },
      );
    });
  }
});
