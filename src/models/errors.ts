import { SilopoolError } from '../core/errors.ts';

/** A tenant's model rules name unknown fields or contradict the model's schema (an operator mistake, not bad input). */
export class TenantRulesError extends SilopoolError {
  constructor(model: string, problems: string[]) {
    super(
      'invalid_tenant_rules',
      500,
      `The tenant rules for model ${model} are not valid: ${problems.join('; ')}`,
      {
        details: { model, problems },
      },
    );
  }
}

export class UnknownModelError extends SilopoolError {
  constructor(name: string, known: string[]) {
    super('unknown_model', 404, `Model ${name} was not found; known models: ${known.join(', ')}.`, {
      details: { model: name },
    });
  }
}
