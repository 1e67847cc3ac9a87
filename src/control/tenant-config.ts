import { Ajv } from 'ajv';
import { type FieldProblem, TenantSettingsError, ValidationError } from '../core/errors.ts';
import {
  FUNCTION_SETTING_RANGES,
  JOB_LIMIT_RANGES,
  LIMIT_RANGES,
  type SettingRange,
  type Tenant,
  type TenantConfig,
} from '../core/tenant.ts';
import { toFieldProblems } from '../models/ajv-messages.ts';
import { listModels, models } from '../models/registry.ts';
import { checkRules } from '../models/rules.ts';
import { pointerSegment } from '../models/schema-paths.ts';
import { formattingProblems } from '../models/xlsx/formatting-checks.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';

function numbers(ranges: Record<string, SettingRange>, more: Record<string, unknown> = {}) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...more,
      ...Object.fromEntries(
        Object.entries(ranges).map(([key, r]) => [
          key,
          {
            type: r.integer ? 'integer' : 'number',
            ...(r.exclusiveMinimum ? { exclusiveMinimum: r.minimum } : { minimum: r.minimum }),
            ...(r.maximum !== undefined ? { maximum: r.maximum } : {}),
          },
        ]),
      ),
    },
  };
}

/**
 * The one schema of a tenant's settings (`Tenant.config`), complete as stored. Each model's rules and the
 * workbook formatting are checked by the models that use them (`checkRules`, `formattingProblems`), so
 * this schema only requires them to be objects.
 */
export const TENANT_CONFIG_SCHEMA = {
  type: 'object',
  required: ['rules', 'formatting', 'limits', 'function'],
  additionalProperties: false,
  properties: {
    rules: { type: 'object', maxProperties: 50 },
    placementPolicy: {
      type: 'object',
      required: ['mode'],
      additionalProperties: false,
      properties: { mode: { enum: ['advise', 'auto'] }, requiresIsolation: { type: 'boolean' } },
    },
    formatting: {},
    // `models`: per-job limits for one model (`{ "funds": { "jobTimeoutSec": 60 } }`); names checked below.
    limits: numbers(LIMIT_RANGES, {
      models: { type: 'object', maxProperties: 50, additionalProperties: numbers(JOB_LIMIT_RANGES) },
    }),
    function: numbers(FUNCTION_SETTING_RANGES),
    webhook: {
      type: 'object',
      required: ['url', 'secret'],
      additionalProperties: false,
      properties: { url: { type: 'string', maxLength: 2048 }, secret: { type: 'string', maxLength: 200 } },
    },
  },
} as const;

const validateShape = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(
  TENANT_CONFIG_SCHEMA,
);

/**
 * Every problem with a tenant's settings, any JSON value accepted; paths are JSON Pointers under `base`
 * (`/config/formatting/locale`). [] when the settings may be stored and used. Pure.
 */
export function tenantConfigProblems(config: unknown, base = '/config'): FieldProblem[] {
  const problems: FieldProblem[] = validateShape(config)
    ? []
    : toFieldProblems(validateShape.errors ?? [], { base, unknownField: 'is not a setting' });
  if (config === null || typeof config !== 'object' || Array.isArray(config)) return problems;
  problems.push(...nonFiniteNumbers(config, base));
  const c = config as Partial<Record<keyof TenantConfig, unknown>>;
  const rules = Object.hasOwn(c, 'rules') ? c.rules : undefined;
  if (rules !== null && typeof rules === 'object' && !Array.isArray(rules)) {
    for (const [name, modelRules] of Object.entries(rules)) {
      const at = `${base}/rules/${pointerSegment(name)}`;
      const model = Object.hasOwn(models, name) ? models[name] : undefined;
      if (!model) {
        problems.push({
          path: at,
          message: `is not a model (${Object.keys(models).join(', ')})`,
          rule: 'model',
        });
        continue;
      }
      for (const p of checkRules(model, modelRules)) problems.push({ ...p, path: at + p.path });
    }
  }
  problems.push(...unknownModels(Object.hasOwn(c, 'limits') ? c.limits : undefined, `${base}/limits/models`));
  if (Object.hasOwn(c, 'formatting') && c.formatting !== undefined) {
    const workbooks = listModels().map((m) => m.sheetNames);
    for (const p of formattingProblems(c.formatting, workbooks))
      problems.push({ ...p, path: `${base}/formatting${p.path}` });
  }
  return problems;
}

/** A per-model limit for a model that is not installed would never apply: refused, like its rules. */
function unknownModels(limits: unknown, at: string): FieldProblem[] {
  if (limits === null || typeof limits !== 'object' || !Object.hasOwn(limits, 'models')) return [];
  const byModel = (limits as { models: unknown }).models;
  if (byModel === null || typeof byModel !== 'object' || Array.isArray(byModel)) return [];
  return Object.keys(byModel)
    .filter((name) => !Object.hasOwn(models, name))
    .map((name) => ({
      path: `${at}/${pointerSegment(name)}`,
      message: `is not a model (${Object.keys(models).join(', ')})`,
      rule: 'model',
    }));
}

/**
 * JSON's `1e400` and YAML's `.inf` parse to `Infinity`, which JSON Schema's `number` accepts but
 * `JSON.stringify` stores as `null`: the stored settings would then fail their own check. Every number of
 * a setting must be finite.
 */
function nonFiniteNumbers(value: unknown, at: string): FieldProblem[] {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? [] : [{ path: at, message: 'must be a finite number', rule: 'finite' }];
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => nonFiniteNumbers(v, `${at}/${pointerSegment(k)}`));
}

/** Throws a `ValidationError` (400) naming each bad field when `config` may not be stored. */
export function checkConfig(config: unknown): void {
  const problems = tenantConfigProblems(config);
  if (problems.length > 0) throw new ValidationError(problems);
}

/**
 * Refuses to use a stored tenant's settings that fail the schema (`TenantSettingsError`, naming the tenant
 * and each field), so a record changed behind the API affects that tenant's requests only.
 */
export function requireValidSettings(tenant: Pick<Tenant, 'id' | 'config'>): void {
  if (validConfigs.has(tenant.config)) return;
  const problems = tenantConfigProblems(tenant.config);
  if (problems.length > 0) throw new TenantSettingsError(tenant.id, problems);
  validConfigs.add(tenant.config);
}

/**
 * Configs already checked, by identity: a cached tenant record (the embedded directory keeps them until
 * the tenants table changes) is checked once, not on every request. A changed config is a new object.
 */
const validConfigs = new WeakSet<object>();

/**
 * Reads every stored tenant and reports (never throws for) those whose settings fail the schema: run at
 * startup, so an operator sees at once which tenant, which field and why. Returns the tenants reported.
 */
export async function reportInvalidSettings(
  directory: TenantDirectory,
  report: (tenantId: string, problems: FieldProblem[], message: string) => void,
): Promise<string[]> {
  const invalid: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      const problems = tenantConfigProblems(tenant.config);
      if (problems.length === 0) continue;
      invalid.push(tenant.id);
      report(tenant.id, problems, new TenantSettingsError(tenant.id, problems).message);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return invalid;
}
