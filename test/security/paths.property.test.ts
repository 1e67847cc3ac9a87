import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tenantConfigProblems } from '../../src/control/tenant-config.ts';
import {
  emptyConfig,
  FUNCTION_SETTING_RANGES,
  functionSettingsFor,
  inRange,
  JOB_LIMIT_RANGES,
  jobLimitsFor,
  LIMIT_RANGES,
  limitsFor,
  PLAN_LIMITS,
} from '../../src/core/tenant.ts';
import { getModel } from '../../src/models/registry.ts';
import { checkRules, resolveInput, schemaForTenant } from '../../src/models/rules.ts';
import {
  deletePath,
  getPath,
  hasPath,
  locateProperty,
  setPathIfParentExists,
} from '../../src/models/schema-paths.ts';

const finance = getModel('finance');
const funds = getModel('funds');

/** Segments an attacker would pick, real field names, and anything else. */
const segment = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'polluted',
  ),
  fc.constantFrom(
    'loan',
    'annualRate',
    'termMonths',
    'discountRate',
    'years',
    'managementFee',
    'rate',
    'basis',
  ),
  fc.string({ maxLength: 6 }),
);
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('.'));
const value = fc.oneof(
  fc.double({ noNaN: true }),
  fc.integer(),
  fc.string({ maxLength: 5 }),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }),
);
const rules = fc.record(
  {
    defaults: fc.dictionary(path, value, { maxKeys: 3 }),
    fixed: fc.dictionary(path, value, { maxKeys: 3 }),
    ranges: fc.dictionary(
      path,
      fc.record({ minimum: fc.double({ noNaN: true, noDefaultInfinity: true }) }, { requiredKeys: [] }),
      { maxKeys: 3 },
    ),
  },
  { requiredKeys: [] },
);

/** Everything Object.prototype has, to compare after each run. */
function prototypeState(): string {
  return (
    JSON.stringify(Object.getOwnPropertyNames(Object.prototype).sort()) + String(Object.getPrototypeOf({}))
  );
}

function expectNoPollution(before: string): void {
  expect(prototypeState()).toBe(before);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(({} as Record<string, unknown>)['x-rule']).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
}

const clean = () => resolveInput(finance, {}, { years: 5 }).effectiveInput;

describe('dotted paths never reach a prototype', () => {
  it('any rules through every path function: no pollution, no effect on another tenant', () => {
    const before = prototypeState();
    const witness = JSON.stringify(clean());
    const witnessSchema = JSON.stringify(schemaForTenant(finance, {}));
    fc.assert(
      fc.property(rules, path, value, (r, p, v) => {
        const problems = checkRules(finance, r);
        const viaConfig = tenantConfigProblems({ ...emptyConfig(), rules: { finance: r, funds: r } });
        const hostile = Object.keys({ ...r.defaults, ...r.fixed, ...r.ranges }).some((k) =>
          k.split('.').some((s) => ['__proto__', 'constructor', 'prototype'].includes(s)),
        );
        if (hostile) expect(problems.length).toBeGreaterThan(0);
        if (problems.length > 0) expect(viaConfig.length).toBeGreaterThan(0);
        for (const model of [finance, funds]) {
          try {
            schemaForTenant(model, r);
            resolveInput(model, r, { years: 5, loan: {}, managementFee: {} });
          } catch {
            // Refusing is fine; reaching a prototype is not.
          }
        }
        const target: Record<string, unknown> = { loan: { annualRate: 0.1 }, years: 5 };
        locateProperty(finance.inputSchema, p);
        getPath(target, p);
        hasPath(target, p);
        setPathIfParentExists(target, p, v);
        deletePath(target, p);
        expectNoPollution(before);
        expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
        expect(JSON.stringify(clean())).toBe(witness);
        expect(JSON.stringify(schemaForTenant(finance, {}))).toBe(witnessSchema);
      }),
      { numRuns: 400, seed: 1107 },
    );
  });

  it('rule paths that name no own field of the model are refused, however spelt', () => {
    fc.assert(
      fc.property(path, (p) => {
        const found = locateProperty(finance.inputSchema, p);
        const segments = p.split('.');
        if (segments.some((s) => ['__proto__', 'constructor', 'prototype'].includes(s))) {
          expect(found).toBeUndefined();
          expect(checkRules(finance, { ranges: { [p]: { minimum: 0 } } }).length).toBeGreaterThan(0);
        }
        if (found) expect(Object.hasOwn(found.parent['properties'] as object, found.key)).toBe(true);
      }),
      { numRuns: 500, seed: 1108 },
    );
  });

  it('shared model schemas are frozen; a tenant schema is a frozen copy', () => {
    expect(Object.isFrozen(finance.inputSchema)).toBe(true);
    const tenantSchema = schemaForTenant(finance, { ranges: { discountRate: { maximum: 0.2 } } });
    expect(Object.isFrozen(tenantSchema)).toBe(true);
    expect(tenantSchema).not.toBe(finance.inputSchema);
    const props = finance.inputSchema['properties'] as Record<string, Record<string, unknown>>;
    expect(props['discountRate']!['x-rule']).toBeUndefined();
    expect(() => {
      props['discountRate']!['maximum'] = 0;
    }).toThrow(TypeError);
  });
});

describe('stored limits and function settings out of range never reach the shared scheduler', () => {
  it('any stored value: the plan default unless it is an own, in-range number', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (limits, fn) => {
        const tenant = { plan: 'free' as const, config: { ...emptyConfig(), limits, function: fn } as never };
        const got = limitsFor(tenant);
        for (const [key, range] of Object.entries(LIMIT_RANGES))
          expect(inRange(got[key as keyof typeof got], range)).toBe(true);
        const settings = functionSettingsFor(tenant);
        for (const [key, range] of Object.entries(FUNCTION_SETTING_RANGES))
          expect(inRange(settings[key as keyof typeof settings], range)).toBe(true);
      }),
      { numRuns: 300, seed: 1109 },
    );
    const stored = {
      plan: 'free' as const,
      config: { ...emptyConfig(), limits: { weight: 'heavy', maxRunningJobs: -3 } },
    };
    expect(limitsFor(stored as never)).toEqual(PLAN_LIMITS.free);
  });
});

describe('per-job limits (time limit, cost ceiling) from any stored settings', () => {
  const model = fc.constantFrom('funds', 'finance', '__proto__', 'constructor', 'toString');
  it('are in range whatever is stored, and a valid per-model override wins over the tenant-wide one', () => {
    fc.assert(
      fc.property(fc.jsonValue(), model, (limits, name) => {
        const tenant = { plan: 'free' as const, config: { ...emptyConfig(), limits } as never };
        const got = jobLimitsFor(tenant, name);
        for (const [key, range] of Object.entries(JOB_LIMIT_RANGES))
          expect(inRange(got[key as keyof typeof got], range)).toBe(true);
        // Settings that pass the schema are used as set.
        if (tenantConfigProblems({ ...emptyConfig(), limits }).length === 0) {
          const own = (limits as { models?: Record<string, { maxJobCost?: number }> }).models;
          const override = own && Object.hasOwn(own, name) ? own[name]?.maxJobCost : undefined;
          const wide = (limits as { maxJobCost?: number }).maxJobCost;
          expect(got.maxJobCost).toBe(override ?? wide ?? PLAN_LIMITS.free.maxJobCost);
        }
      }),
      { numRuns: 300, seed: 1207 },
    );
    const tenant = {
      plan: 'standard' as const,
      config: { ...emptyConfig(), limits: { jobTimeoutSec: 5, models: { funds: { jobTimeoutSec: 60 } } } },
    };
    expect(jobLimitsFor(tenant, 'funds')).toEqual({ jobTimeoutSec: 60, maxJobCost: 1_500_000 });
    expect(jobLimitsFor(tenant, 'finance')).toEqual({ jobTimeoutSec: 5, maxJobCost: 1_500_000 });
    // Inherited names are never read as a model's override.
    expect(jobLimitsFor(tenant, 'constructor')).toEqual({ jobTimeoutSec: 5, maxJobCost: 1_500_000 });
  });
});
