import type { ModelRules, TenantConfig } from '../core/tenant.ts';
import type { ModelDefinition } from './types.ts';

/**
 * The rules a tenant's jobs of `model` run under: its own rules for the model, with the tenant's
 * formatting currency as the default of the model's `currency` input (unless the rules set one). One
 * currency truth: the job's currency decides how money is shown, and the tenant's is what it starts as.
 */
export function tenantRules(
  model: ModelDefinition,
  config: Pick<TenantConfig, 'rules' | 'formatting'>,
): ModelRules {
  const rules = Object.hasOwn(config.rules, model.name) ? config.rules[model.name]! : {};
  const currency = config.formatting.currency;
  const properties = model.inputSchema['properties'] as Record<string, unknown> | undefined;
  if (
    currency === undefined ||
    !/^[A-Z]{3}$/.test(currency) ||
    !properties ||
    !Object.hasOwn(properties, 'currency') ||
    (rules.defaults && Object.hasOwn(rules.defaults, 'currency')) ||
    (rules.fixed && Object.hasOwn(rules.fixed, 'currency'))
  ) {
    return rules;
  }
  return { ...rules, defaults: { ...rules.defaults, currency } };
}
