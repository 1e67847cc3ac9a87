import { type FieldProblem, SilopoolError } from '../core/errors.ts';

/**
 * A tenant's stored model rules name unknown fields or contradict the model's schema: an operator mistake
 * (settings are checked where they enter, so only a record changed behind the API gets here), not bad input.
 * Paths are the settings' own (`/config/rules/finance/ranges/discountRate`).
 */
export class TenantRulesError extends SilopoolError {
  readonly problems: FieldProblem[];
  constructor(model: string, problems: FieldProblem[]) {
    const errors = problems.map((p) => ({ ...p, path: `/config/rules/${model}${p.path}` }));
    super(
      'tenant_settings_invalid',
      503,
      `The tenant's rules for model ${model} are not valid and are not used until an operator corrects them: ${errors.map((p) => `${p.path} ${p.message}`).join('; ')}`,
      { details: { model, errors } },
    );
    this.problems = errors;
  }
}

export class UnknownModelError extends SilopoolError {
  constructor(name: string, known: string[]) {
    super('unknown_model', 404, `Model ${name} was not found; known models: ${known.join(', ')}.`, {
      details: { model: name },
    });
  }
}
