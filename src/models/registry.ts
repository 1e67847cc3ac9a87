import { UnknownModelError } from './errors.ts';
import { financeModel } from './finance/index.ts';
import { fundsModel } from './funds/index.ts';
import { deepFreeze } from './rules.ts';
import type { ModelDefinition } from './types.ts';

/**
 * Every model the platform runs; a new model is a folder plus one line here. Each model's input schema
 * is shared by every tenant, so it is frozen: a tenant's schema is always a copy (`schemaForTenant`).
 */
export const models: Readonly<Record<string, ModelDefinition>> = Object.freeze({
  finance: deepFreeze(financeModel) as unknown as ModelDefinition,
  funds: deepFreeze(fundsModel) as unknown as ModelDefinition,
});

/** The model by name; throws `UnknownModelError` (404) for any other name. */
export function getModel(name: string): ModelDefinition {
  const model = Object.hasOwn(models, name) ? models[name] : undefined;
  if (!model) throw new UnknownModelError(name, Object.keys(models));
  return model;
}

/** The names of the platform's models: what a job's `model` can be (route filters list them). */
export function modelNames(): string[] {
  return Object.keys(models);
}

export function listModels(): ModelDefinition[] {
  return Object.values(models);
}
